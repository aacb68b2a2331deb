"""Every way an API can fail to answer ends as `SystemUnknown` with a short cause code, after the
retries: never "no data"; and nothing of the question or the answer (identifiers, URLs, bodies)
reaches the logs or the error."""

from __future__ import annotations

import logging
import time

import pytest

from services.catalogue.model import IdentifierType as Id
from services.systems.contract import RowChange, SystemUnknown
from services.systems.guard import Limits
from tests.systems.http.conftest import LabAdapters, people_api
from tests.systems.http.servers import Lab

SECRET_EMAIL = "kari@example.no"
"""The value searched for: it must appear in no log line and no error."""


def _assert_nothing_leaked(caplog: pytest.LogCaptureFixture, *errors: BaseException) -> None:
    """Our side's log records and errors hold none of it. (The test servers' own uvicorn records are
    left out: pytest captures their access log even with `access_log=False`, and they are the
    other party, whose logs are not ours.)"""
    ours = [record for record in caplog.records if not record.name.startswith("uvicorn")]
    text = "\n".join(f"{record.name} {record.getMessage()} {record.__dict__}" for record in ours)
    text += "\n".join(f"{error!r} {error.args} {error.__cause__!r} {error.__context__!r}" for error in errors)
    for needle in (SECRET_EMAIL, "kari%40", "people?", "Kari Nordmann", "/people/"):
        assert needle not in text, needle


@pytest.mark.parametrize(
    ("mode", "cause"),
    [
        ("s500", "http_500"),
        ("s503", "http_503"),
        ("s403", "http_403"),
        ("s400", "http_400"),
        ("s302", "http_302"),
        ("malformed", "malformed_json"),
        ("notjson", "malformed_json"),
        ("noshape", "wrong_shape"),
        ("notlist", "wrong_shape"),
        ("badtype", "wrong_type"),
        ("badfield", "wrong_type"),
        ("foreign", "foreign_link"),
    ],
)
async def test_a_search_the_api_cannot_answer_is_unknown(
    lab: Lab, lab_adapter: LabAdapters, caplog: pytest.LogCaptureFixture, mode: str, cause: str
) -> None:
    caplog.set_level(logging.DEBUG)
    extra = {}
    if mode == "foreign":
        extra = {
            "resource": {
                "search": [
                    {**people_api(mode)["resources"]["people"]["search"][0], "pagination": {"kind": "link"}}
                ]
            }
        }
    adapter = lab_adapter(people_api(mode, **extra))
    with pytest.raises(SystemUnknown) as caught:
        await adapter.search({Id.email: {SECRET_EMAIL}}, {})
    assert caught.value.cause == cause
    assert lab.hits[mode] == 2  # retried first (FAST: two attempts), whatever the failure
    _assert_nothing_leaked(caplog, caught.value)
    assert any(record.getMessage() == "source system call failed" for record in caplog.records)


async def test_a_read_the_api_cannot_answer_is_unknown_but_a_404_is_gone(lab_adapter: LabAdapters) -> None:
    with pytest.raises(SystemUnknown) as caught:
        await lab_adapter(people_api("s503")).read("people", ["1"])
    assert caught.value.cause == "http_503"
    with pytest.raises(SystemUnknown) as caught:
        await lab_adapter(people_api("badtype")).read("people", ["1"])
    assert caught.value.cause == "wrong_type"
    assert await lab_adapter(people_api("ok")).read("people", ["999"]) == {}


async def test_a_hang_past_the_timeout_is_unknown_and_does_not_wait_for_the_answer(
    lab: Lab, lab_adapter: LabAdapters, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = lab_adapter(people_api("hang", timeout=0.2))
    started = time.monotonic()
    with pytest.raises(SystemUnknown) as caught:
        await adapter.search({Id.email: {SECRET_EMAIL}}, {})
    assert caught.value.cause == "timeout"
    assert time.monotonic() - started < 2
    assert lab.hits["hang"] == 2
    _assert_nothing_leaked(caplog, caught.value)


async def test_a_refused_connection_is_unknown(lab_adapter: LabAdapters) -> None:
    adapter = lab_adapter(people_api("ok"))
    adapter._base = "http://127.0.0.1:9"  # the discard port: nothing listens
    adapter._origin = adapter._base
    with pytest.raises(SystemUnknown) as caught:
        await adapter.search({Id.email: {SECRET_EMAIL}}, {})
    assert caught.value.cause == "connect_error"


async def test_a_429_is_waited_out_as_retry_after_says(lab: Lab, lab_adapter: LabAdapters) -> None:
    adapter = lab_adapter(people_api("r429once"))
    started = time.monotonic()
    rows = await adapter.search({Id.email: {SECRET_EMAIL}}, {})
    assert {key[0] for _, key, _, _ in rows} == {"1", "3"}
    assert time.monotonic() - started >= 0.95  # Retry-After: 1, not the 10 ms backoff
    assert adapter.statements == 2


async def test_a_429_after_the_retries_is_unknown(lab: Lab, lab_adapter: LabAdapters) -> None:
    adapter = lab_adapter(people_api("r429", rate_limit={"max_retry_after": 0.05}))
    started = time.monotonic()
    with pytest.raises(SystemUnknown) as caught:
        await adapter.search({Id.email: {SECRET_EMAIL}}, {})
    assert caught.value.cause == "http_429"
    assert time.monotonic() - started < 0.9  # waits no longer than max_retry_after
    assert lab.hits["r429"] == 2


async def test_a_transient_failure_is_retried_and_then_answers(lab: Lab, lab_adapter: LabAdapters) -> None:
    adapter = lab_adapter(people_api("flaky"))
    rows = await adapter.search({Id.email: {SECRET_EMAIL}}, {})
    assert len(rows) == 2 and lab.hits["flaky"] == 2


async def test_more_pages_than_max_pages_is_unknown_not_a_partial_answer(lab_adapter: LabAdapters) -> None:
    search = {**people_api("endless")["resources"]["people"]["search"][0], "max_pages": 3}
    adapter = lab_adapter(people_api("endless", resource={"search": [search]}))
    with pytest.raises(SystemUnknown) as caught:
        await adapter.search({Id.email: {SECRET_EMAIL}}, {})
    assert caught.value.cause == "too_many_pages"
    assert adapter.statements == 3


async def test_a_404_on_delete_is_already_deleted(lab: Lab, lab_adapter: LabAdapters) -> None:
    adapter = lab_adapter(people_api("ok"))
    done = await adapter.apply([RowChange("people", "2", delete=True), RowChange("people", "2", delete=True)])
    assert [a.changed for a in done] == [1, 0]
    assert 2 not in lab.people


async def test_a_failing_write_is_unknown_and_applying_again_finishes_the_batch(
    lab: Lab, lab_adapter: LabAdapters
) -> None:
    broken = lab_adapter(people_api("ok", resource={"delete": {"path": "/s503/people/{key}"}}))
    changes = [RowChange("people", "1", values={"name": "K."}), RowChange("people", "2", delete=True)]
    with pytest.raises(SystemUnknown) as caught:
        await broken.apply(changes)
    assert caught.value.cause == "http_503"
    assert lab.people[1]["name"] == "K."  # no transaction: the first change stays made
    again = await lab_adapter(people_api("ok")).apply(changes)
    assert [a.changed for a in again] == [0, 1]


async def test_a_cool_down_answers_at_once_after_a_failure(lab: Lab, lab_adapter: LabAdapters) -> None:
    adapter = lab_adapter(people_api("s500"), limits=Limits(timeout=1, attempts=1, backoff=0, cooldown=60))
    with pytest.raises(SystemUnknown):
        await adapter.search({Id.email: {SECRET_EMAIL}}, {})
    with pytest.raises(SystemUnknown) as caught:
        await adapter.search({Id.email: {SECRET_EMAIL}}, {})
    assert caught.value.cause == "http_500"
    assert lab.hits["s500"] == 1


async def test_health_names_the_cause(lab_adapter: LabAdapters) -> None:
    assert (await lab_adapter(people_api("ok")).health()).ok
    assert (await lab_adapter(people_api("ok", health={"path": "/ok/health"})).health()).ok
    down = await lab_adapter(people_api("ok", health={"path": "/s503/health"})).health()
    assert (down.ok, down.cause) == (False, "http_503")
    shapeless = await lab_adapter(people_api("noshape")).health()
    assert (shapeless.ok, shapeless.cause) == (False, "wrong_shape")


async def test_an_answer_larger_than_allowed_is_unknown(lab_adapter: LabAdapters) -> None:
    adapter = lab_adapter(people_api("notjson", max_response_bytes=1024))
    adapter.api = adapter.api.model_copy(update={"max_response_bytes": 16})
    with pytest.raises(SystemUnknown) as caught:
        await adapter.search({Id.email: {SECRET_EMAIL}}, {})
    assert caught.value.cause == "too_large"


async def test_the_client_side_rate_limit_spaces_the_requests(lab: Lab, lab_adapter: LabAdapters) -> None:
    adapter = lab_adapter(people_api("ok", rate_limit={"per_second": 20, "burst": 1}))
    started = time.monotonic()
    assert len(await adapter.read("people", ["1", "2", "3", "4", "5", "6", "7"])) == 3  # 7 requests at once
    assert time.monotonic() - started >= 6 / 20 - 0.02
    assert adapter.statements == 7
