"""Who may do what: one table for the API's keys and the console's accounts (BRIEF §7, issue 22).

Every route names the one action it performs (`Action`); the API's key check
(`services.api.auth.allowed`) and the console's session check (`services.console.web.signed_in`)
both answer from `AUTHORITY`, so a role has the same powers on both surfaces and a decision
reserved to the data protection officer is refused to every other role, wherever it is asked
for. A route that performs no action is listed in `PUBLIC_ROUTES` with why it needs no role;
`tests/abuse/test_authority.py` walks every route of the API and the console for every role and
fails on a route that is in neither.

Reach: an integrated system acts only on the requests it submitted (`Reach.own`); staff roles act
on every request (`Reach.every`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    system = "system"
    """An integrated system (Plan & Pay, the case system, the website): an API key only."""
    agent = "agent"
    """Customer service: logs requests, checks identity, works the cases."""
    ops = "ops"
    """Operations: deadlines, the SLA page, the audit trail for Datatilsynet; no case file."""
    dpo = "dpo"
    """The data protection officer: everything an agent may, and the decisions reserved to the DPO."""


CONSOLE_ROLES = (Role.agent, Role.ops, Role.dpo)
"""Roles a console account may have (an integrated system never signs in)."""


class Reach(StrEnum):
    every = "every"
    """Any request."""
    own = "own"
    """Only requests this key submitted (the key's name is the request's submitter)."""


class Action(StrEnum):
    submit = "submit"
    read = "read"
    verify = "verify"
    cancel = "cancel"
    extend = "extend"
    view_case = "view_case"
    work_case = "work_case"
    download = "download"
    export_audit = "export_audit"
    lift_restriction = "lift_restriction"
    decide_plan = "decide_plan"
    decide_objection = "decide_objection"
    release_special = "release_special"
    refuse = "refuse"
    check_suppression = "check_suppression"
    post_letters = "post_letters"
    watch_sla = "watch_sla"
    review_drift = "review_drift"


@dataclass(frozen=True)
class Rule:
    """What an action is (for the README and refusals) and who may take it, how far."""

    what: str
    who: dict[Role, Reach]

    def reach(self, role: Role) -> Reach | None:
        return self.who.get(role)


_EVERY = Reach.every
_OWN = Reach.own

AUTHORITY: dict[Action, Rule] = {
    Action.submit: Rule(
        "submit or log a request",
        {Role.system: _EVERY, Role.agent: _EVERY, Role.dpo: _EVERY},
    ),
    Action.read: Rule(
        "read a request's status and its status history",
        {Role.system: _OWN, Role.agent: _EVERY, Role.ops: _EVERY, Role.dpo: _EVERY},
    ),
    Action.verify: Rule(
        "record identity evidence",
        {Role.system: _OWN, Role.agent: _EVERY, Role.dpo: _EVERY},
    ),
    Action.cancel: Rule(
        "cancel (withdraw) a request",
        {Role.system: _OWN, Role.agent: _EVERY, Role.dpo: _EVERY},
    ),
    Action.extend: Rule(
        "extend the deadline (Art. 12(3))",
        {Role.agent: _EVERY, Role.ops: _EVERY, Role.dpo: _EVERY},
    ),
    Action.view_case: Rule(
        "see the case file: work queue, search, a request's page with its findings, the erasure plan",
        {Role.agent: _EVERY, Role.dpo: _EVERY},
    ),
    Action.work_case: Rule(
        "resolve an ambiguous match, answer a manual search, confirm a manual erasure done",
        {Role.agent: _EVERY, Role.dpo: _EVERY},
    ),
    Action.download: Rule(
        "get a one-time download link to an artifact (extract, certificate)",
        {Role.agent: _EVERY, Role.dpo: _EVERY},
    ),
    Action.export_audit: Rule(
        "export a request's audit story for Datatilsynet",
        {Role.agent: _EVERY, Role.ops: _EVERY, Role.dpo: _EVERY},
    ),
    Action.lift_restriction: Rule(
        "announce and lift a restriction (Art. 18(3))",
        {Role.agent: _EVERY, Role.dpo: _EVERY},
    ),
    Action.decide_plan: Rule(
        "approve or reject an erasure plan that waits for a decision",
        {Role.dpo: _EVERY},
    ),
    Action.decide_objection: Rule(
        "decide an objection (Art. 21(1)): uphold with restrict or erase, or dismiss",
        {Role.dpo: _EVERY},
    ),
    Action.release_special: Rule(
        "release or withhold special-category data held back from an extract (Art. 9)",
        {Role.dpo: _EVERY},
    ),
    Action.refuse: Rule(
        "refuse a request as manifestly unfounded or excessive (Art. 12(5))",
        {Role.dpo: _EVERY},
    ),
    Action.check_suppression: Rule(
        "ask whether a marketing sign-up must be refused",
        {Role.system: _EVERY, Role.agent: _EVERY, Role.ops: _EVERY, Role.dpo: _EVERY},
    ),
    Action.post_letters: Rule(
        "print letters for post and mark them posted",
        {Role.agent: _EVERY, Role.dpo: _EVERY},
    ),
    Action.watch_sla: Rule(
        "watch the SLA page",
        {Role.ops: _EVERY, Role.dpo: _EVERY},
    ),
    Action.review_drift: Rule(
        "see the catalogue's drift: tables and columns the catalogue does not describe (names and counts, no data)",
        {Role.ops: _EVERY, Role.dpo: _EVERY},
    ),
}


def reach(role: Role | str, action: Action) -> Reach | None:
    """How far `role` may take `action`: over every request, its own only, or not at all (None)."""
    try:
        return AUTHORITY[action].reach(Role(role))
    except ValueError:
        return None


def refusal(role: Role | str, action: Action) -> str:
    """The reason a refused caller is told: the role and the action, nothing about the request."""
    allowed = ", ".join(r.value for r in AUTHORITY[action].who)
    return f"role {role} may not {AUTHORITY[action].what} (allowed: {allowed})"


NOT_OWN = "a system key acts only on requests it submitted"


PUBLIC_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "liveness probe",
    ("GET", "/readyz"): "readiness probe",
    ("GET", "/metrics"): "Prometheus metrics (no personal data)",
    ("GET", "/openapi.json"): "the API's own description",
    ("GET", "/docs"): "the API's documentation",
    ("GET", "/redoc"): "the API's documentation",
    ("GET", "/docs/assets/{name}"): "the documentation pages' scripts and styles",
    ("GET", "/asyncapi"): "the event contract's documentation",
    ("GET", "/asyncapi.yaml"): "the event contract",
    ("GET", "/v1/downloads/{token}"): "the one-time link is the credential",
    ("GET", "/request"): "the data subject's form",
    ("POST", "/request"): "the data subject's form (rate limits, honeypot)",
    ("GET", "/status"): "the status page's form",
    ("POST", "/status"): "a request's status for its reference and secret (rate limited)",
    ("GET", "/verify/{token}"): "the confirmation page: shows a button, confirms nothing",
    ("POST", "/verify/{token}"): "email confirmation: the one-time link is the credential",
    ("GET", "/download/{token}"): "the page of a one-time link (does not spend it)",
    ("GET", "/demo/mail"): "the demo's caught mail (exists only under `dsr up --demo`)",
    ("GET", "/public/static/public.css"): "the public pages' stylesheet",
    ("GET", "/console"): "sends to sign-in or to the role's first page",
    ("GET", "/console/sign-in"): "the sign-in form",
    ("POST", "/console/sign-in"): "signing in (rate limited per account and address)",
    ("POST", "/console/sign-out"): "signing out ends the caller's own session",
    ("POST", "/console/language"): "the language cookie",
    ("GET", "/console/static/{name}"): "the console's stylesheet and script",
}
"""Routes that take no action on a request, with why they need no role."""


def route_action(route: Any) -> Action | None:
    """The action a route declares through its guard dependency (`authority` on the callable)."""
    stack = list(getattr(getattr(route, "dependant", None), "dependencies", []))
    while stack:
        dependency = stack.pop()
        action = getattr(dependency.call, "authority", None)
        if isinstance(action, Action):
            return action
        stack.extend(dependency.dependencies)
    return None


def routes(app: Any) -> list[tuple[str, str, Action | None]]:
    """Every (method, path) an app serves, with the action its guard declares (None: no guard)."""
    from fastapi.routing import iter_route_contexts

    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                found.append((method, str(context.path), route_action(route)))
    return found


def markdown_table() -> str:
    """The README's table of what each role may do (kept equal to it by `tests/test_authority.py`)."""
    roles = list(Role)
    lines = [
        "| action | " + " | ".join(f"`{r.value}`" for r in roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for action, rule in AUTHORITY.items():
        cells = []
        for role in roles:
            found = rule.reach(role)
            cells.append("" if found is None else "yes" if found is Reach.every else "own requests")
        lines.append(f"| {rule.what} (`{action.value}`) | " + " | ".join(cells) + " |")
    return "\n".join(lines)
