"""The request status machine: terminal is final, every open request can still end."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.requests import TERMINAL_STATUSES, RequestStatus
from services.runtime.lifecycle import ALLOWED, IllegalTransition, check_transition

S = RequestStatus
OPEN = sorted(set(S) - TERMINAL_STATUSES)


def reachable(start: RequestStatus) -> set[RequestStatus]:
    seen, queue = {start}, deque([start])
    while queue:
        for nxt in ALLOWED[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def test_every_status_has_an_entry_and_only_statuses_are_targets() -> None:
    assert set(ALLOWED) == set(S)
    assert all(target in S for targets in ALLOWED.values() for target in targets)


def test_the_terminal_statuses_are_completed_referred_refused_and_cancelled() -> None:
    assert {s for s in S if s.terminal} == {S.completed, S.referred, S.refused, S.cancelled}


@pytest.mark.parametrize("terminal", sorted(TERMINAL_STATUSES))
def test_a_terminal_status_allows_no_transition(terminal: RequestStatus) -> None:
    assert ALLOWED[terminal] == frozenset()
    for wanted in S:
        with pytest.raises(IllegalTransition):
            check_transition(terminal, wanted)


@pytest.mark.parametrize("status", OPEN)
def test_every_open_status_can_be_cancelled(status: RequestStatus) -> None:
    check_transition(status, S.cancelled)


@pytest.mark.parametrize("status", OPEN)
def test_every_open_status_is_reachable_from_received(status: RequestStatus) -> None:
    assert status in reachable(S.received)


@pytest.mark.parametrize("status", list(S))
def test_no_status_transitions_to_itself(status: RequestStatus) -> None:
    assert status not in ALLOWED[status]
    with pytest.raises(IllegalTransition):
        check_transition(status, status)


def test_nothing_goes_back_to_received() -> None:
    assert all(S.received not in targets for targets in ALLOWED.values())


@given(st.sampled_from(list(S)), st.sampled_from(list(S)))
def test_check_transition_allows_exactly_the_listed_transitions(
    current: RequestStatus, wanted: RequestStatus
) -> None:
    if wanted in ALLOWED[current]:
        check_transition(current, wanted)
    else:
        with pytest.raises(IllegalTransition) as info:
            check_transition(current, wanted)
        assert (info.value.current, info.value.wanted) == (current, wanted)
        assert str(info.value) == f"{current} -> {wanted}"


@given(st.data())
def test_a_random_walk_over_allowed_transitions_can_always_still_finish(data: st.DataObject) -> None:
    status = S.received
    for _ in range(data.draw(st.integers(0, 40), label="steps")):
        assert reachable(status) & TERMINAL_STATUSES, f"{status} cannot reach a terminal status"
        if status.terminal:
            break
        wanted = data.draw(st.sampled_from(sorted(ALLOWED[status])))
        check_transition(status, wanted)
        status = wanted
    assert status.terminal or reachable(status) & TERMINAL_STATUSES
