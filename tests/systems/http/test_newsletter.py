"""The example catalogue file (`catalogue/examples/newsletter_saas.yaml`) against the demo newsletter
SaaS on a real loopback port, through `SourceSystems` as the services build it: search over pages
of every kind, read, lookup, facts, apply (idempotent), rescan, health, auth and the rate limit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import pytest

from services.catalogue.model import Catalogue
from services.catalogue.model import IdentifierType as Id
from services.demo.generator import DemoGenerator, showcase_placements
from services.demo.newsletter_api import load_rows
from services.demo.showcase import showcase_subjects
from services.launcher.ports import accepts_connections, free_port
from services.systems.contract import RowChange, SystemUnknown, Unsupported
from services.systems.guard import Limits
from services.systems.http import HttpSystem
from services.systems.registry import SourceSystems
from tests.systems.http.conftest import (
    FAST,
    KARI,
    KARI_PHONE,
    NEWSLETTER,
    OLA,
    PER,
    PER_PHONE,
    Newsletter,
    newsletter_rows,
    t,
)


def _by_table(rows: list[tuple[str, list[str], str | None, list[str | None]]]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for table, key, _parent, _identifiers in rows:
        found.setdefault(table, set()).add(key[0])
    return found


async def test_a_search_finds_every_record_across_pages_of_each_kind(newsletter_adapter: HttpSystem) -> None:
    rows = await newsletter_adapter.search({Id.email: {KARI}, Id.phone: {KARI_PHONE}}, {})
    found = _by_table(rows)
    assert found["newsletter_subscriptions"] == {str(n) for n in range(1, 131)}  # page numbers: 2 pages
    assert found["event_signups"] == {"1", "2"} | {str(10 + n) for n in range(110)}  # cursor: 2 pages + phone
    assert found["downloads"] == {str(n) for n in range(1, 241, 2)}  # offset/limit to the total: 2 pages
    assert found["survey_responses"] == {str(n) for n in range(1, 251)}  # Link rel=next: 3 pages
    assert newsletter_adapter.statements == 2 + 2 + 1 + 2 + 3
    assert ("event_signups", ["2"], None, ["kari.work@example.no", KARI_PHONE]) in rows
    assert len(rows) == len({(table, key[0]) for table, key, _, _ in rows})  # each record once


async def test_a_batch_of_values_is_one_request_where_the_template_takes_a_list(
    newsletter_adapter: HttpSystem,
) -> None:
    rows = await newsletter_adapter.search({Id.email: {OLA, "nobody@example.no"}}, {})
    assert _by_table(rows) == {
        "newsletter_subscriptions": {"200"},
        "event_signups": {"3"},
        "downloads": {str(n) for n in range(2, 241, 2)},
    }
    # subscriptions 1 (both emails), sign-ups 2 (one per email), downloads 2 pages, responses 1
    assert newsletter_adapter.statements == 1 + 2 + 2 + 1


async def test_a_near_miss_is_not_a_match(newsletter_adapter: HttpSystem) -> None:
    assert await newsletter_adapter.search({Id.email: {"kari@example.n", "KARI@EXAMPLE.NO"}}, {}) == []


async def test_read_gives_the_catalogues_types_and_leaves_out_what_is_gone(
    newsletter_adapter: HttpSystem,
) -> None:
    rows = await newsletter_adapter.read("newsletter_subscriptions", ["200", "99999"])
    assert rows == {
        "200": {
            "id": 200,
            "email": OLA,
            "name": "Ola Nordmann",
            "newsletter": "Kundeavisen",
            "subscribed_at": t(2),
            "consent_text": "Ja.",
            "unsubscribed_at": t(3),
            "restricted": False,
        }
    }
    assert (
        isinstance(rows["200"]["subscribed_at"], datetime) and rows["200"]["subscribed_at"].tzinfo is not None
    )
    signup = (await newsletter_adapter.read("event_signups", ["2"]))["2"]
    assert signup["phone"] == KARI_PHONE and signup["organisation"] is None and signup["attended"] is False


async def test_lookup_uses_the_search_on_that_column_or_the_read_by_key(
    newsletter_adapter: HttpSystem,
) -> None:
    by_phone = await newsletter_adapter.lookup("event_signups", "phone", [KARI_PHONE], ["id", "email"])
    assert by_phone == [{"id": 2, "email": "kari.work@example.no"}]
    by_key = await newsletter_adapter.lookup("downloads", "id", ["2", "4", "999"], ["asset"])
    assert sorted(row["asset"] for row in by_key) == ["Guide 2", "Guide 4"]
    with pytest.raises(Unsupported):
        await newsletter_adapter.lookup("downloads", "asset", ["Guide 2"])


async def test_facts_are_the_row_and_leave_out_paths_that_follow_no_reference(
    newsletter_adapter: HttpSystem,
) -> None:
    facts = await newsletter_adapter.facts("downloads", ["3"], ["email.domain"])
    assert facts == {
        "3": {"id": 3, "email": KARI, "asset": "Guide 3", "downloaded_at": t(7), "restricted": False}
    }


async def test_apply_changes_only_what_differs_and_twice_changes_nothing(
    newsletter: Newsletter, newsletter_adapter: HttpSystem
) -> None:
    changes = [
        RowChange("newsletter_subscriptions", "200", delete=True),
        RowChange(
            "event_signups", "1", values={"email": "kari.new@example.no", "name": "Kari N."}, read_before=True
        ),
        RowChange("event_signups", "1", values={"organisation": None}),
        RowChange("newsletter_subscriptions", "5", restricted=True),
        RowChange("event_signups", "2", restricted=True),
        RowChange("downloads", "999", values={"asset": "x"}),  # gone: nothing to change
    ]
    first = await newsletter_adapter.apply(changes)
    assert [a.changed for a in first] == [1, 1, 1, 1, 1, 0]
    assert first[1].before == {"email": KARI, "name": "Kari Nordmann"}
    second = await newsletter_adapter.apply(changes)
    assert [a.changed for a in second] == [0, 0, 0, 0, 0, 0]
    assert second[1].before == {}

    subscriptions = {row["id"]: row for row in newsletter.store.rows("newsletter_subscriptions")}
    signups = {row["id"]: row for row in newsletter.store.rows("event_signups")}
    assert (
        200 not in subscriptions
        and subscriptions[5]["restricted"] == 1
        and subscriptions[6]["restricted"] == 0
    )
    assert signups[1]["email"] == "kari.new@example.no" and signups[1]["name"] == "Kari N."
    assert signups[1]["organisation"] is None and signups[2]["restricted"] == 1

    lifted = await newsletter_adapter.apply([RowChange("newsletter_subscriptions", "5", restricted=False)])
    assert lifted[0].changed == 1
    assert {row["id"]: row for row in newsletter.store.rows("newsletter_subscriptions")}[5]["restricted"] == 0


async def test_a_guard_sees_the_record_as_it_is_and_can_refuse_it(newsletter_adapter: HttpSystem) -> None:
    seen = []

    def guard(change: RowChange, row: dict[str, object]) -> bool:
        seen.append(row["email"])
        return row["email"] == KARI

    done = await newsletter_adapter.apply(
        [RowChange("downloads", "1", delete=True), RowChange("downloads", "2", delete=True)], guard
    )
    assert [(a.changed, a.skipped) for a in done] == [(1, False), (0, True)]
    assert seen == [KARI, OLA]


async def test_an_erasure_leaves_nothing_for_the_rescan(newsletter_adapter: HttpSystem) -> None:
    values = {Id.email: {PER}, Id.phone: {PER_PHONE}}
    rows = await newsletter_adapter.search(values, {})
    assert _by_table(rows) == {
        "newsletter_subscriptions": {"300"},
        "event_signups": {"300"},
        "downloads": {"300", "301", "302"},
        "survey_responses": {"300"},
    }
    done = await newsletter_adapter.apply(
        [RowChange(table, key[0], delete=True) for table, key, _, _ in rows]
    )
    assert sum(a.changed for a in done) == len(rows) == 6
    assert await newsletter_adapter.rescan(values) == []


async def test_the_unsupported_is_refused_before_anything_is_sent(
    newsletter_adapter: HttpSystem, newsletter_catalogue: Catalogue, newsletter: Newsletter
) -> None:
    api = newsletter_catalogue.systems[NEWSLETTER].api
    assert api is not None
    without_restrict = api.resources["downloads"].model_copy(update={"restrict": None})
    resources = {**api.resources, "downloads": without_restrict}
    newsletter_adapter.api = api.model_copy(update={"resources": resources})
    with pytest.raises(Unsupported) as caught:
        await newsletter_adapter.apply(
            [RowChange("downloads", "1", delete=True), RowChange("downloads", "3", restricted=True)]
        )
    assert caught.value.cause == "no_restrict"
    assert newsletter_adapter.statements == 0
    assert any(row["id"] == 1 for row in newsletter.store.rows("downloads"))


async def test_health(newsletter_adapter: HttpSystem) -> None:
    health = await newsletter_adapter.health()
    assert health.ok and health.engine == "http" and health.cause is None


async def test_without_the_token_the_system_is_unknown(
    newsletter: Newsletter, newsletter_catalogue: Catalogue
) -> None:
    for env, cause in (
        ({"NEWSLETTER_API_TOKEN": "wrong"}, "http_401"),
        ({"NEWSLETTER_API_TOKEN": ""}, "auth_unresolved"),
    ):
        systems = SourceSystems(
            newsletter_catalogue, server_url=None, limits=FAST, env={**newsletter.env, **env}
        )
        try:
            with pytest.raises(SystemUnknown) as caught:
                await systems[NEWSLETTER].search({Id.email: {KARI}}, {})
            assert caught.value.cause == cause
            assert not (await systems[NEWSLETTER].health()).ok
        finally:
            await systems.close()


async def test_the_rate_limits_429_and_retry_after_are_waited_out(
    tmp_path: Path, newsletter_catalogue: Catalogue
) -> None:
    api = Newsletter(tmp_path / "limited.sqlite3", rate=1, burst=1)
    api.load()
    await api.server.astart()
    systems = SourceSystems(
        newsletter_catalogue, server_url=None, limits=Limits(timeout=3, attempts=3, backoff=0.01), env=api.env
    )
    try:
        adapter = systems[NEWSLETTER]
        started = time.monotonic()
        first = await adapter.search({Id.phone: {KARI_PHONE}}, {})
        second = await adapter.search({Id.phone: {KARI_PHONE}}, {})  # at once: 429, Retry-After: 1
        assert first == second != []
        assert time.monotonic() - started >= 0.9
        assert adapter.statements == 3
    finally:
        await systems.close()
        await api.server.astop()
        api.store.close()


async def test_the_data_survives_a_restart_and_the_adapter_reconnects(
    tmp_path: Path, newsletter_catalogue: Catalogue
) -> None:
    api = Newsletter(tmp_path / "restart.sqlite3")
    api.load()
    await api.server.astart()
    systems = SourceSystems(newsletter_catalogue, server_url=None, limits=FAST, env=api.env)
    adapter = systems[NEWSLETTER]
    try:
        await adapter.apply([RowChange("newsletter_subscriptions", "200", delete=True)])
        await api.server.astop()
        api.store.close()
        with pytest.raises(SystemUnknown) as caught:
            await adapter.read("newsletter_subscriptions", ["1"])
        assert caught.value.cause == "connect_error"
        assert (await adapter.health()).cause == "connect_error"

        again = Newsletter(api.data)
        again.server.port = api.server.port
        await again.server.astart()
        try:
            rows = await adapter.read("newsletter_subscriptions", ["1", "200"])
            assert set(rows) == {"1"}
        finally:
            await again.server.astop()
            again.store.close()
    finally:
        await systems.close()


async def test_the_demo_generators_rows_load_and_are_found_where_the_placements_say(
    tmp_path: Path, newsletter_catalogue: Catalogue
) -> None:
    generator = DemoGenerator(seed=7, subjects=20)
    data = tmp_path / "demo.sqlite3"
    for index, chunk in enumerate(generator.chunks()):
        load_rows(data, chunk.rows, replace=index == 0)
    api = Newsletter(data)
    await api.server.astart()
    systems = SourceSystems(newsletter_catalogue, server_url=None, limits=FAST, env=api.env)
    try:
        placements = showcase_placements()
        for subject in showcase_subjects():
            expected = {(r.table, str(r.id)) for r in placements[subject.key] if r.system == "marketing"}
            if not expected:
                continue
            rows = await systems[NEWSLETTER].search(
                {Id.email: {subject.email}, Id.phone: {subject.phone}}, {}
            )
            assert {(table, key[0]) for table, key, _, _ in rows} >= expected, subject.key
            read = await systems[NEWSLETTER].read(
                "newsletter_subscriptions", [str(r.id) for r in placements[subject.key]]
            )
            assert all(
                row["subscribed_at"].tzinfo is UTC or row["subscribed_at"].utcoffset() is not None
                for row in read.values()
            )
    finally:
        await systems.close()
        await api.server.astop()
        api.store.close()


def test_the_command_line_server_takes_its_token_from_the_environment(tmp_path: Path) -> None:
    data = tmp_path / "cli.sqlite3"
    load_rows(data, newsletter_rows())
    port = free_port()
    command = [sys.executable, "-m", "services.demo.newsletter_api", "--port", str(port), "--data", str(data)]
    env = {**os.environ, "DSR_TEST_NEWSLETTER_TOKEN": "cli-token"}
    refused = subprocess.run(
        [*command, "--token-env", "DSR_TEST_UNSET"], env=env, capture_output=True, timeout=30
    )
    assert refused.returncode == 2 and b"holds no token" in refused.stderr
    server = subprocess.Popen(
        [*command, "--token-env", "DSR_TEST_NEWSLETTER_TOKEN"], env=env, stderr=subprocess.PIPE
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while not accepts_connections("127.0.0.1", port):
            assert time.monotonic() < deadline and server.poll() is None
            time.sleep(0.05)
        assert httpx.get(f"{url}/v1/ping").status_code == 401
        answer = httpx.get(f"{url}/v1/subscribers/200", headers={"Authorization": "Bearer cli-token"})
        assert answer.json()["data"]["email"] == OLA
        assert "cli-token" not in " ".join(psutil.Process(server.pid).cmdline())
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=20)
    assert b"ola@example.no" not in errors  # no access log with the addresses searched for
