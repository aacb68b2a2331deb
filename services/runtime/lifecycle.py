"""The request status machine (BRIEF §9). Pure."""

from __future__ import annotations

from schemas.requests import TERMINAL_STATUSES, RequestStatus

S = RequestStatus

ALLOWED: dict[RequestStatus, frozenset[RequestStatus]] = {
    S.received: frozenset({S.awaiting_verification, S.verified, S.cancelled, S.refused}),
    S.awaiting_verification: frozenset({S.verified, S.refused, S.cancelled}),
    S.verified: frozenset({S.locating, S.cancelled}),
    S.locating: frozenset({S.needs_review, S.fulfilling, S.completed, S.referred, S.cancelled}),
    S.needs_review: frozenset({S.locating, S.fulfilling, S.completed, S.referred, S.refused, S.cancelled}),
    S.fulfilling: frozenset({S.needs_review, S.completed, S.referred, S.cancelled}),
    **{terminal: frozenset() for terminal in TERMINAL_STATUSES},
}


class IllegalTransition(Exception):
    def __init__(self, current: RequestStatus, wanted: RequestStatus):
        super().__init__(f"{current} -> {wanted}")
        self.current = current
        self.wanted = wanted


def check_transition(current: RequestStatus, wanted: RequestStatus) -> None:
    if wanted not in ALLOWED[current]:
        raise IllegalTransition(current, wanted)
