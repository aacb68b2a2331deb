"""How long a record is kept, as an extract shows it: the rule, and the date when one is known. Pure.

Only what the subject is told (Art. 15(1)(d)); whether a record may be erased is the erasure
side's decision (`services/erasure/`), not this module's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from schemas.extract import RetentionView
from services.catalogue.model import Retention, RetentionKind, period_parts
from services.fulfilment.texts import Texts
from services.intake.domain.deadline import add_months


@dataclass(frozen=True)
class Anchor:
    """The date a record's retention counts from, as read from the systems.

    `rule` is the rule the period comes from: the table's own, or for a `follows` rule the rule of
    the row it follows (a credit report follows its case). `value` is None while the date is not
    set (the case is still open); `found` is False when the row it depends on was not found.
    """

    rule: Retention
    value: dt.date | None
    found: bool = True


def add_period(day: dt.date, period: str) -> dt.date:
    """`day` plus an ISO 8601 period; a day missing in the target month becomes its last day."""
    years, months, days = period_parts(period)
    return add_months(day, 12 * years + months) + dt.timedelta(days=days)


def retention_date(rule: Retention, anchor: dt.date | None) -> dt.date | None:
    """The day the record goes at the latest, or None when it cannot be computed (yet)."""
    if anchor is None:
        return None
    if rule.kind is RetentionKind.after_date and rule.period is not None:
        return add_period(anchor, rule.period)
    if rule.kind is RetentionKind.on_event:
        return anchor  # deleted as soon as the event happened
    return None


def as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def _waiting_for(rule: Retention, texts: Texts) -> str:
    """What a record without a date waits for, from the anchor column's name."""
    if rule.kind is RetentionKind.controller:
        return texts.until_controller
    if rule.kind is RetentionKind.purpose:
        return texts.until_purpose
    if rule.kind is RetentionKind.on_event:
        return texts.until_unsubscribed
    column = (rule.anchor or "").rsplit(".", 1)[-1]
    if column == "closed_on":
        return texts.until_case_closed
    if column.startswith("relationship_ended"):
        return texts.until_relationship_ends
    return texts.until_unknown


def retention_view(
    table_rule: Retention | None, anchor: Anchor | None, texts: Texts, language: str
) -> RetentionView:
    """The extract's `retention`: the table's rule in words (in `language`, as `texts` is), and
    the date or what it waits for."""
    if table_rule is None:
        return RetentionView(rule=texts.kept_while_purpose, until=texts.until_purpose)
    rule = anchor.rule if anchor is not None else table_rule
    value = anchor.value if anchor is not None else None
    until = retention_date(rule, value)
    if until is not None:
        return RetentionView(rule=table_rule.description.in_(language), date=until)
    waiting = _waiting_for(rule, texts) if anchor is None or anchor.found else texts.until_unknown
    return RetentionView(rule=table_rule.description.in_(language), until=waiting)
