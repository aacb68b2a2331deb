"""Hostile identifier values and keys are sent as data, never as syntax: a `/` never changes the
path, a `&` or `#` never adds a parameter, nothing is found that should not be, nothing breaks."""

from __future__ import annotations

import pytest

from services.catalogue.model import IdentifierType as Id
from services.systems.contract import RowChange
from services.systems.http import HttpSystem
from tests.systems.http.conftest import KARI, LabAdapters, people_api
from tests.systems.http.servers import PEOPLE, Lab

HOSTILE = [
    "kari@example.no' or '1'='1",
    'kari"@example.no',
    "50%",
    "%2F..%2F1",
    "kari@example.no&email=ola@example.no",
    "x#email=kari@example.no",
    "x?email=kari@example.no",
    "1/../2",
    "../1",
    "..",
    ".",
    "/",
    "1/",
    "\x00",
    "kari@example.no\x00",
    "1\r\nX-Injected: yes",
    "a" * 10_000,
    "å" * 3_000,
    "k\u0430ri@example.no",  # a Cyrillic a
    "\uff4bari@example.no",  # a fullwidth k
    "kari@example.no\u200b",  # zero-width space
    "KARI@EXAMPLE.NO",
    " kari@example.no",
    "\ud800",  # a lone surrogate: no valid Unicode at all
    "",
]


async def test_hostile_values_find_nothing_and_stay_in_their_parameter(
    lab: Lab, lab_adapter: LabAdapters
) -> None:
    adapter = lab_adapter(people_api("ok"))
    assert await adapter.search({Id.email: set(HOSTILE)}, {}) == []
    for method, path, query in lab.seen:
        assert (method, path) == ("GET", "/ok/people")
        names = {part.split("=", 1)[0] for part in query.split("&")}
        assert names == {"email", "page"}, query
    # the batch went out as one request per 50 values, each value its own repeated parameter
    sent = sum(query.count("email=") for _, _, query in lab.seen)
    assert sent == len(HOSTILE) - 1  # all but the lone surrogate, which no JSON API can hold
    assert len(await adapter.search({Id.email: {KARI}}, {})) == 2  # and nothing broke


async def test_hostile_keys_stay_one_path_segment(lab: Lab, lab_adapter: LabAdapters) -> None:
    adapter = lab_adapter(people_api("ok"), id_type="text")  # a text key: every value is sent
    assert await adapter.read("people", HOSTILE) == {}
    done = await adapter.apply([RowChange("people", key, delete=True) for key in HOSTILE])
    assert all(a.changed == 0 for a in done)
    done = await adapter.apply([RowChange("people", key, values={"name": "x"}) for key in HOSTILE[:5]])
    assert all(a.changed == 0 for a in done)
    assert lab.people == PEOPLE
    for method, path, query in lab.seen:
        assert method in ("GET", "DELETE") and query == ""
        assert path.startswith("/ok/people/") and path.count("/") == 3, path
        assert ".." not in path.split("/") and "." not in path.split("/")[3:], path
    # every key but the lone surrogate and the empty one, read and deleted; the updates read first
    assert len(lab.seen) == adapter.statements == 2 * (len(HOSTILE) - 2) + 5


async def test_a_key_no_record_can_have_is_not_even_asked_for(lab: Lab, lab_adapter: LabAdapters) -> None:
    adapter = lab_adapter(people_api("ok"))  # a bigint key
    assert await adapter.read("people", [*HOSTILE, "\uff11", "1.5", "1e3"]) == {}
    assert [
        a.changed for a in await adapter.apply([RowChange("people", k, delete=True) for k in HOSTILE])
    ] == [0] * len(HOSTILE)
    assert adapter.statements == 0
    assert set(await adapter.read("people", ["01", "2"])) == {"1", "2"}  # as PostgreSQL compares them


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
async def test_the_demo_api_finds_nothing_for_a_hostile_value(
    newsletter_adapter: HttpSystem, value: str
) -> None:
    assert await newsletter_adapter.search({Id.email: {value}, Id.phone: {value}}, {}) == []
    assert await newsletter_adapter.read("event_signups", [value]) == {}
    assert await newsletter_adapter.lookup("event_signups", "phone", [value]) == []
