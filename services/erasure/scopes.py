"""Which found records a right concerns, and what it does to them. Pure.

Erasure concerns everything found. The narrower rights each concern part of it: an unsubscribe
the newsletter subscription, a consent withdrawal what rests on consent (erased where consent is
the only basis; where the table has another basis too, the consent purposes stop and the others go
on, `purposes.py`), an opt-out the marketing system, a restriction or an upheld objection what can be restricted (an objection only
what rests on legitimate interest). Records outside the scope are left alone and say so.
"""

from __future__ import annotations

from datetime import date as date_type
from enum import StrEnum

from schemas.requests import RequestType
from services.catalogue.model import Catalogue, Table
from services.erasure.purposes import consent_stop, is_mixed
from services.erasure.reasons import Reason
from services.erasure.retention import Action, Condition, Decision, Method, RecordFacts, decide


class Scope(StrEnum):
    erasure = "erasure"
    newsletter_unsubscribe = "newsletter_unsubscribe"
    consent_withdrawal = "consent_withdrawal"
    marketing_opt_out = "marketing_opt_out"
    restriction = "restriction"
    objection_restrict = "objection_restrict"
    objection_erase = "objection_erase"


SCOPE_OF_TYPE = {
    RequestType.erasure: Scope.erasure,
    RequestType.newsletter_unsubscribe: Scope.newsletter_unsubscribe,
    RequestType.consent_withdrawal: Scope.consent_withdrawal,
    RequestType.marketing_opt_out: Scope.marketing_opt_out,
    RequestType.restriction: Scope.restriction,
}

CONSENT = "6(1)(a)"
LEGITIMATE_INTEREST = "6(1)(f)"

RESTRICTED = Reason(
    "restricted_on_request",
    "Restricted at your request: stored, not used.",
    "Sperret etter ditt krav: lagret, men ikke brukt.",
    ("GDPR Art. 18",),
)
OBJECTION_UPHELD = Reason(
    "objection_upheld",
    "Your objection was upheld: processing based on legitimate interest has stopped.",
    "Innsigelsen din ble tatt til følge: behandling basert på berettiget interesse er stanset.",
    ("GDPR Art. 21(1)",),
)
OPTED_OUT = Reason(
    "opted_out",
    "You opted out of direct marketing: it is no longer used for marketing.",
    "Du har reservert deg mot direkte markedsføring: det brukes ikke lenger til markedsføring.",
    ("GDPR Art. 21(2)",),
)
UNTIL_LIFTED = Condition("until_lifted", "until the restriction is lifted", "til sperringen oppheves")
CONSENT_STOPPED = Reason(
    "other_basis",
    "You withdrew your consent: what rested on it has stopped. The record is kept for the purposes "
    "that rest on another basis.",
    "Du trakk tilbake samtykket ditt: det som bygde på det, er stanset. Posten beholdes for formålene "
    "som bygger på et annet grunnlag.",
    ("GDPR Art. 7(3)",),
)
OTHER_BASIS = Condition(
    "other_basis",
    "while the purposes on another basis last",
    "så lenge formålene med et annet grunnlag varer",
)
CONSENT_HELD = "consent_purpose_held"
"""Review reason: a legal hold keeps the row as it is and the consent purpose has no mark of its own."""


def concerns(catalogue: Catalogue, scope: Scope, system: str, table: str) -> bool:
    rule = catalogue.systems[system].tables[table]
    if scope is Scope.erasure:
        return True
    if scope is Scope.newsletter_unsubscribe:
        return (system, table) == ("marketing", "newsletter_subscriptions")
    if scope is Scope.consent_withdrawal:
        return CONSENT in rule.legal_basis
    if scope is Scope.marketing_opt_out:
        return system == "marketing"
    if scope is Scope.restriction:
        return rule.restriction is not None
    return LEGITIMATE_INTEREST in rule.legal_basis and (
        rule.restriction is not None or scope is Scope.objection_erase
    )


def decide_in_scope(catalogue: Catalogue, scope: Scope, facts: RecordFacts, today: date_type) -> Decision:
    """The decision for a record the right concerns."""
    table = catalogue.systems[facts.system].tables[facts.table]
    decision = decide(catalogue, facts, today)
    if decision.action is Action.refer or facts.values is None:
        return decision
    if scope is Scope.consent_withdrawal and is_mixed(table) and facts.readable:
        return stop_consent_purposes(table, decision)
    restrict_as: Reason | None = None
    if scope is Scope.restriction:
        restrict_as = RESTRICTED
    elif scope is Scope.objection_restrict:
        restrict_as = OBJECTION_UPHELD
    elif scope is Scope.marketing_opt_out and (facts.system, facts.table) != (
        "marketing",
        "newsletter_subscriptions",
    ):
        restrict_as = OPTED_OUT
    if restrict_as is not None:
        return Decision(
            Action.restrict,
            restrict_as,
            while_=UNTIL_LIFTED,
            mark_restricted=table.restriction is not None,
            review=decision.review if decision.review == "special_category" else None,
        )
    return decision


def stop_consent_purposes(table: Table, decision: Decision) -> Decision:
    """A withdrawn consent on a table with another basis: the row stays for the other purposes,
    the consent purposes stop as the catalogue says (columns emptied, their marks set). A legal hold
    (`decision` restricts for one) keeps the row as it is: then only the marks can stop them, and
    without a mark a person decides. A special category still needs a person's approval."""
    held = (
        decision.reason.code
        if decision.action is Action.restrict and decision.reason.code.startswith("hold:")
        else None
    )
    stop = consent_stop(table, held_by=held)
    review = decision.review if decision.review in ("special_category", "ambiguous") else None
    if held is not None and not stop.marks:
        review = review or CONSENT_HELD
    return Decision(
        Action.restrict,
        CONSENT_STOPPED,
        Method.null_columns if stop.columns else Method.none,
        stop.columns,
        while_=OTHER_BASIS,
        review=review,
        marks=stop.marks,
        purposes=stop,
    )
