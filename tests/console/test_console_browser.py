"""The console in real headless Chromium against one running stack (intake with the console, the
locator, fulfilment): the issue's "Must hold" cases, with a screenshot of each page."""

from __future__ import annotations

import asyncio
import io
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.demo.showcase import SHARED_PHONE, showcase_subject
from tests.console.conftest import Stack
from tests.support.browser import CHROMIUM_FLAGS, chromium_path, screenshot_path

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        await launched.close()


CSP_VIOLATIONS: list[str] = []
LETTER_ADDRESSES: list[str] = []  # postal addresses in the letters queued here: never in a log


async def _page(browser: Any) -> Any:
    context = await browser.new_context(accept_downloads=True, viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    # Chromium reports every blocked inline script or style on the console.
    page.on(
        "console",
        lambda message: (
            CSP_VIOLATIONS.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return page


async def sign_in(page: Any, stack: Stack, name: str) -> None:
    await page.goto(f"{stack.url}/console/sign-in")
    await page.fill("#name", name)
    await page.fill("#password", stack.passwords[name])
    await page.click("form.card button[type=submit]")
    await page.wait_for_load_state()


async def wait_for_status(page: Any, wanted: str, timeout: float = 45.0) -> None:
    """Reload the detail page until its status badge says `wanted` (the status' Norwegian label).

    Every load must be the detail page itself: an error page fails here at once, with its text (a
    page view that deadlocked with the pipeline answered 500, and this waited 30 s for the badge)."""
    deadline = time.monotonic() + timeout
    while True:
        await page.wait_for_load_state()
        badge = page.locator("#status")
        assert await badge.count() == 1, f"not the request's page: {(await page.inner_text('body'))[:500]!r}"
        text = (await badge.inner_text()).strip()
        if text == wanted:
            return
        assert time.monotonic() < deadline, f"status is still {text!r}, not {wanted!r}"
        await asyncio.sleep(0.5)
        response = await page.reload()
        assert response is not None and response.ok, (
            f"the detail page answered {response and response.status}"
        )


async def log_phone_request(
    page: Any, stack: Stack, *, checked: bool = True, request_type: str = "access", **subject: str
) -> str:
    """Fill and send the log-a-request form (with all three phone checks, or none: the request then
    waits for identity proof); returns the request id."""
    await page.goto(f"{stack.url}/console/requests/new")
    await page.select_option("#type", request_type)
    await page.select_option("#channel", "phone")
    for name, value in subject.items():
        await page.fill(f"#{name}", value)
    for check in ("case_number", "national_id", "address") if checked else ():
        await page.check(f"input[name=checks][value={check}]")
    await page.click("#submit-request")
    await page.wait_for_url(re.compile(r"/console/requests/[0-9a-f-]{36}\?notice=logged"))
    return page.url.rsplit("/", 1)[1].split("?")[0]  # type: ignore[no-any-return]


async def test_an_agent_logs_a_verified_phone_request_watches_it_complete_and_downloads_the_extract(
    browser: Any, stack: Stack
) -> None:
    page = await _page(browser)
    await page.goto(f"{stack.url}/console/queue")
    assert page.url.endswith("/console/sign-in")  # not signed in: sent to sign in
    await page.screenshot(path=str(screenshot_path("console-sign-in")))
    await sign_in(page, stack, "agent-kari")
    assert page.url.endswith("/console/queue")
    await page.screenshot(path=str(screenshot_path("console-queue")))
    # The language switch (the script submits it on change): English, then back to bokmål.
    async with page.expect_navigation():
        await page.select_option("select[name=lang]", "en")
    assert await page.inner_text("h1") == "Work queue"
    await page.screenshot(path=str(screenshot_path("console-queue-en")))
    async with page.expect_navigation():
        await page.select_option("select[name=lang]", "nb")
    assert await page.inner_text("h1") == "Arbeidskø"

    # A wrong national id: the message is next to the field, in plain Norwegian, and nothing is stored.
    await page.goto(f"{stack.url}/console/requests/new")
    await page.screenshot(path=str(screenshot_path("console-log-request")))
    await page.fill("#national_id", "12345678901")
    await page.click("#submit-request")
    assert await page.inner_text("#national_id-error") == "Ikke et gyldig fødselsnummer."
    assert "12345678901" not in page.url
    await page.screenshot(path=str(screenshot_path("console-log-request-invalid")), full_page=True)

    subject = showcase_subject("closed_case_debtor")
    request_id = await log_phone_request(page, stack, national_id=subject.national_id)
    await wait_for_status(page, "Fullført")
    assert subject.national_id not in page.url and subject.national_id not in await page.title()
    assert await page.inner_text("#subject") == f"Fødselsnummer: {subject.national_id}"
    assert "debt_collection" in await page.inner_text("#findings")
    await page.screenshot(path=str(screenshot_path("console-request-completed")), full_page=True)

    async with page.expect_download() as info:
        await page.click("button.download[data-kind=extract_json]")
    download = await info.value
    extract = json.loads((await download.path()).read_text())
    assert subject.national_id in json.dumps(extract)

    # Search by national id: a POST, the number never in the URL; the request is found.
    await page.goto(f"{stack.url}/console/search")
    await page.select_option("#kind", "national_id")
    await page.fill("#value", subject.national_id)
    await page.click("main form button[type=submit]")
    assert page.url.endswith("/console/search")
    assert request_id in await page.inner_html("main table")
    await page.screenshot(path=str(screenshot_path("console-search")))

    conn = await asyncpg.connect(stack.database_url)
    try:
        actors = await conn.fetch(
            "select distinct actor, action from audit_events where request_id = $1", uuid.UUID(request_id)
        )
        pairs = {(a["actor"], a["action"]) for a in actors}
        assert ("agent-kari", "received") in pairs and ("agent-kari", "artifact_downloaded") in pairs
        assert ("agent-kari", "console.viewed") in pairs
    finally:
        await conn.close()
    await page.context.close()


async def test_an_agent_resolves_the_shared_phone_and_the_request_continues(
    browser: Any, stack: Stack
) -> None:
    page = await _page(browser)
    await sign_in(page, stack, "agent-ola")
    await log_phone_request(page, stack, phone=SHARED_PHONE)
    await wait_for_status(page, "Til vurdering")
    await page.goto(f"{stack.url}/console/queue")
    link = page.locator("table.list a").first
    assert await link.count() == 1
    await link.click()
    await page.wait_for_selector("#resolution")
    await page.screenshot(path=str(screenshot_path("console-resolve-ambiguity")), full_page=True)
    lise = showcase_subject("shared_phone_a")
    await page.locator("label.candidate", has_text=lise.email).locator("input").check()
    await page.click("#resolve")
    await wait_for_status(page, "Fullført")
    findings = await page.inner_text("#findings")
    assert "debt_collection" in findings and "marketing" not in findings  # Lise's rows, not Jonas's
    assert "agent-ola" in await page.inner_text("#audit")
    await page.context.close()


async def test_an_erasure_after_a_resolved_ambiguity_rescans_as_the_person_decided(
    browser: Any, stack: Stack
) -> None:
    """The erasure's re-scan searches as the locator did after the resolution (the shared phone named
    as shared): otherwise Jonas's rows would turn up and the erasure could never complete."""
    page = await _page(browser)
    await sign_in(page, stack, "agent-ola")
    request_id = await log_phone_request(page, stack, request_type="erasure", phone=SHARED_PHONE)
    await wait_for_status(page, "Til vurdering")
    await page.goto(f"{stack.url}/console/requests/{request_id}")
    await page.wait_for_selector("#resolution")
    lise = showcase_subject("shared_phone_a")
    await page.locator("label.candidate", has_text=lise.email).locator("input").check()
    await page.click("#resolve")
    await wait_for_status(page, "Fullført", timeout=60)
    assert "executed" in await page.inner_text("#erasure-plan")
    await page.context.close()


async def test_no_state_change_without_a_valid_csrf_token_or_a_live_session(
    browser: Any, stack: Stack
) -> None:
    page = await _page(browser)
    await sign_in(page, stack, "agent-kari")
    subject = showcase_subject("unknown_person").national_id
    request_id = await log_phone_request(page, stack, checked=False, national_id=subject)
    await page.goto(f"{stack.url}/console/requests/{request_id}")
    # CSP: no inline script or style; clickjacking refused
    response = await page.reload()
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"

    # A forged token: refused, nothing changed.
    await page.click("form[action$='/cancel'] >> xpath=.. >> summary")
    await page.fill("#cancel-reason", "forged")
    await page.eval_on_selector("form[action$='/cancel'] input[name=csrf]", "e => e.value = 'forged'")
    await page.click("form[action$='/cancel'] button")
    assert "Skjemaet var utløpt eller ugyldig" in await page.inner_text("h1")
    await page.screenshot(path=str(screenshot_path("console-csrf-refused")))

    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    token = cookies["dsr_console"]
    csrf = await _csrf_of(page, stack, request_id)
    api = page.context.request
    # No token at all, and the right token without a session cookie: both refused.
    no_token = await api.post(
        f"{stack.url}/console/requests/{request_id}/cancel", form={"reason": "no token"}
    )
    assert no_token.status == 403
    anonymous = await browser.new_context()
    no_session = await anonymous.request.post(
        f"{stack.url}/console/requests/{request_id}/cancel", form={"reason": "no session", "csrf": csrf}
    )
    assert no_session.status == 401
    assert (await _status(stack, request_id)) != "cancelled"

    # Signed out: the old cookie and token are dead.
    await page.click("#sign-out")
    assert page.url.endswith("/console/sign-in")
    await anonymous.add_cookies([{"name": "dsr_console", "value": token, "url": stack.url}])
    replay = await anonymous.request.post(
        f"{stack.url}/console/requests/{request_id}/cancel", form={"reason": "replayed", "csrf": csrf}
    )
    assert replay.status == 401
    replay_page = await anonymous.new_page()
    await replay_page.goto(f"{stack.url}/console/queue")
    assert replay_page.url.endswith("/console/sign-in")
    assert (await _status(stack, request_id)) != "cancelled"
    await anonymous.close()
    await page.context.close()


async def test_an_idle_or_too_old_session_cannot_be_replayed(browser: Any, stack: Stack) -> None:
    for column, age in (("last_seen_at", timedelta(minutes=16)), ("created_at", timedelta(hours=9))):
        page = await _page(browser)
        await sign_in(page, stack, "agent-kari")
        assert page.url.endswith("/console/queue")
        token = {c["name"]: c["value"] for c in await page.context.cookies()}["dsr_console"]
        conn = await asyncpg.connect(stack.database_url)
        try:
            import hashlib

            await conn.execute(
                f"update console_sessions set {column} = now() - $2::interval where token_hash = $1",
                hashlib.sha256(token.encode()).digest(),
                age,
            )
        finally:
            await conn.close()
        await page.goto(f"{stack.url}/console/queue")
        assert page.url.endswith("/console/sign-in"), column
        await page.context.close()


async def test_an_agent_cannot_take_a_decision_only_the_dpo_may(browser: Any, stack: Stack) -> None:
    agent = await _page(browser)
    await sign_in(agent, stack, "agent-kari")
    request_id = await log_phone_request(agent, stack, checked=False, email="nobody.known@eksempel.no")
    assert "Bare personvernombudet" in await agent.inner_text("#dpo-decisions")
    assert await agent.locator("#dpo-decisions form").count() == 0
    # A security question alone is not enough for an access request: it keeps waiting for proof.
    await agent.check("form[action$='/verification'] input[value=security_question]")
    await agent.click("#verify")
    assert await agent.inner_text("#status") == "Venter på legitimasjon"
    # The deadline extended by a month, with its reason.
    await agent.click("form[action$='/extension'] >> xpath=.. >> summary")
    await agent.fill("#ext-reason", "Many systems to search by hand for this caller.")
    await agent.click("form[action$='/extension'] button")
    assert "+1" in await agent.inner_text("section.facts")
    audit_text = await agent.inner_text("#audit")
    assert "verification_recorded" in audit_text and "deadline_extended" in audit_text
    csrf = await _csrf_of(agent, stack, request_id)
    crafted = await agent.context.request.post(
        f"{stack.url}/console/requests/{request_id}/dpo/refuse",
        form={"csrf": csrf, "reason": "An agent tries to refuse this request."},
    )
    assert crafted.status == 403
    assert await _status(stack, request_id) != "refused"
    await agent.context.close()

    dpo = await _page(browser)
    await sign_in(dpo, stack, "dpo-nina")
    await dpo.goto(f"{stack.url}/console/requests/{request_id}")
    await dpo.screenshot(path=str(screenshot_path("console-request-dpo")), full_page=True)
    await dpo.click("#dpo-decisions summary")
    await dpo.fill("#dpo-refuse-reason", "Manifestly unfounded: the caller could not be identified.")
    await dpo.click("#dpo-decisions form button")
    await wait_for_status(dpo, "Avslått", timeout=5)
    await dpo.context.close()


async def test_the_dpo_sees_the_erasure_plan_and_approves_it_in_the_console(
    browser: Any, stack: Stack
) -> None:
    """Health data makes an erasure wait for a person: the DPO sees the plan, approves, it runs."""
    subject = showcase_subject("health_note_debtor")
    agent = await _page(browser)
    await sign_in(agent, stack, "agent-kari")
    await agent.goto(f"{stack.url}/console/requests/new")
    await agent.select_option("#type", "erasure")
    await agent.select_option("#channel", "phone")
    await agent.fill("#national_id", subject.national_id)
    for check in ("case_number", "national_id", "address"):
        await agent.check(f"input[name=checks][value={check}]")
    await agent.click("#submit-request")
    await agent.wait_for_url(re.compile(r"/console/requests/[0-9a-f-]{36}\?notice=logged"))
    request_id = agent.url.rsplit("/", 1)[1].split("?")[0]
    await wait_for_status(agent, "Til vurdering")
    assert not await agent.query_selector("#dpo-decisions form")  # an agent gets no decision forms
    await agent.context.close()

    dpo = await _page(browser)
    await sign_in(dpo, stack, "dpo-nina")
    await dpo.goto(f"{stack.url}/console/requests/{request_id}")
    plan = await dpo.inner_text("#erasure-plan")
    assert "needs_review" in plan and "debt_collection" in plan
    await dpo.screenshot(path=str(screenshot_path("console-erasure-plan")), full_page=True)
    await dpo.click("#dpo-decisions details:has(form[action$='/dpo/approve_plan']) summary")
    await dpo.fill("#dpo-approve_plan-reason", "Checked with the subject: the health note may go.")
    await dpo.click("form[action$='/dpo/approve_plan'] button")
    await wait_for_status(dpo, "Fullført", timeout=60)
    assert "approved" in (await dpo.inner_text("#erasure-plan")) or "executed" in (
        await dpo.inner_text("#erasure-plan")
    )
    await dpo.context.close()


async def test_an_agent_answers_a_manual_search_task_from_the_queue(browser: Any, stack: Stack) -> None:
    page = await _page(browser)
    await sign_in(page, stack, "agent-kari")
    request_id = await log_phone_request(page, stack, checked=False, email="manual.task@eksempel.no")
    conn = await asyncpg.connect(stack.database_url)
    try:  # the locator opens such a task for a system the catalogue says has no interface
        await conn.execute(
            "insert into manual_tasks (request_id, system, due_at) values ($1, 'archive', now() + interval '5 days')",
            uuid.UUID(request_id),
        )
    finally:
        await conn.close()
    await page.goto(f"{stack.url}/console/queue")
    row = page.locator("table.list tr", has_text="archive")
    await row.locator("a").click()
    await page.check("#manual-tasks input[name=found][value=no]")
    await page.click("#manual-tasks button")
    task = await page.inner_text("#manual-tasks")
    assert "answered" in task and task.endswith("agent-kari")
    assert "locator.manual_task_answered" in await page.inner_text("#audit")
    await page.goto(f"{stack.url}/console/queue")
    assert await page.locator("table.list tr", has_text="archive").count() == 0
    await page.context.close()


async def test_sign_in_is_rate_limited_per_account(browser: Any, stack: Stack) -> None:
    page = await _page(browser)
    for _ in range(3):
        await page.goto(f"{stack.url}/console/sign-in")
        await page.fill("#name", "agent-ola")
        await page.fill("#password", "not the password")
        await page.click("form.card button[type=submit]")
        assert "Feil brukernavn eller passord" in await page.inner_text("main")
    await sign_in(page, stack, "agent-ola")  # the right password, too late
    assert "For mange mislykkede forsøk" in await page.inner_text("main")
    assert page.url.endswith("/console/sign-in")
    await page.context.close()


async def test_the_sla_page_shows_deadlines_and_refreshes_live(browser: Any, stack: Stack) -> None:
    conn = await asyncpg.connect(stack.database_url)
    try:
        overdue = f"DSR-SLA-{uuid.uuid4().hex[:6].upper()}"
        due = date.today() - timedelta(days=2)
        await conn.execute(
            """insert into requests (id, reference, type, channel, status, received_at, due_date, subject, correlation_id)
               values ($1, $2, 'access', 'phone', 'needs_review', $3, $4, '{}'::jsonb, 'sla-test')""",
            uuid.uuid4(),
            overdue,
            datetime.now(UTC) - timedelta(days=33),
            due,
        )
        for days_ago in range(10):  # ten completed, one a day, after 3 to 21 days
            done = uuid.uuid4()
            completed_at = datetime.now(UTC) - timedelta(days=days_ago)
            await conn.execute(
                """insert into requests (id, reference, type, channel, status, received_at, due_date, subject,
                                         correlation_id)
                   values ($1, $2, 'access', 'phone', 'completed', $3, $4, '{}'::jsonb, 'sla-test')""",
                done,
                f"DSR-SLA-{uuid.uuid4().hex[:6].upper()}",
                completed_at - timedelta(days=3 + 2 * days_ago),
                date.today(),
            )
            await conn.execute(
                "insert into request_status_history (request_id, status, actor, at) values ($1, 'completed', 'test', $2)",
                done,
                completed_at,
            )
    finally:
        await conn.close()
    agent = await _page(browser)
    await sign_in(agent, stack, "agent-kari")
    assert (await agent.goto(f"{stack.url}/sla")).status == 403
    await agent.context.close()

    page = await _page(browser)
    await sign_in(page, stack, "ops-per")
    assert page.url.endswith("/sla")
    assert f"{overdue} · {due.isoformat()}" in await page.inner_text("#overdue")
    await page.wait_for_selector("#sla-live[data-refreshed]", timeout=8000)  # the script polled the JSON
    assert await page.locator("#ttc-chart rect.bar").count() >= 10
    assert await page.locator("#ttc-chart").is_visible()
    await page.screenshot(path=str(screenshot_path("sla")), full_page=True)
    await page.context.close()


async def _queue_a_letter(stack: Stack) -> tuple[str, str]:
    """A request by letter, told by post the way the notifier does it: its events through the
    notifier's own consumer, then its delivery, which writes the PDF into the print-and-post queue.
    Returns the request's reference and the postal address (personal data the list must not show)."""
    from schemas.registry import REQUESTS
    from schemas.requests import RequestSubmission
    from services.artifacts.sealing import ConfiguredKeys
    from services.artifacts.store import ArtifactStore
    from services.intake import admission
    from services.notifier.delivery import Delivery
    from services.notifier.handlers import REQUEST_HANDLERS
    from services.notifier.mail import SmtpTransport
    from services.notifier.settings import NoticeSettings
    from services.runtime.consumer import EventConsumer
    from services.runtime.db import create_pool
    from services.runtime.settings import Settings
    from tests.notifier.conftest import NoDeadLetters

    address = f"Postboks {uuid.uuid4().int % 9000 + 1000}\n0155 Oslo"
    settings = Settings(database_url=stack.database_url, artifact_keys="k1:" + "A" * 43)
    pool = await create_pool(stack.database_url, min_size=1, max_size=2)
    try:
        submission = RequestSubmission.model_validate(
            {
                "type": "marketing_opt_out",
                "channel": "letter",
                "subject": {"national_id": "15076500565", "name": "Ørjan Ås"},
                "details": {"postal_address": address, "language": "nb"},
            }
        )
        async with pool.acquire() as conn, conn.transaction():
            result = await admission.submit(conn, submission, actor="agent-kari")
        consumer = EventConsumer(
            "notifier-requests",
            REQUESTS,
            dict(REQUEST_HANDLERS),
            pool=pool,
            dead_letters=NoDeadLetters(),
            settings=settings,
        )
        rows = await pool.fetch(
            "select id, key, value from outbox where request_id = $1 and topic = $2 order by id",
            uuid.UUID(result.view.id),
            REQUESTS,
        )
        for row in rows:
            await consumer.handle_message(key=row["key"], value=row["value"], partition=0, offset=row["id"])
        notices = NoticeSettings()
        sender = Delivery(
            pool, notices, SmtpTransport(notices), ArtifactStore(ConfiguredKeys.parse(settings.artifact_keys))
        )
        await sender.run_due()
        queued = await pool.fetchval(
            "select count(*) from letters where request_id = $1 and posted_at is null",
            uuid.UUID(result.view.id),
        )
        assert queued == 1
    finally:
        await pool.close()
    return result.view.reference, address


async def test_an_agent_prints_a_queued_letter_and_marks_it_posted(browser: Any, stack: Stack) -> None:
    """Letters for post: listed without personal data, the PDF by a POST with the CSRF token, then
    marked as posted under the agent's name: it leaves the queue and its PDF is dropped."""
    from pypdf import PdfReader

    reference, address = await _queue_a_letter(stack)
    LETTER_ADDRESSES.append(address.split("\n")[0])
    street = address.split("\n")[0]
    page = await _page(browser)
    await sign_in(page, stack, "agent-kari")
    await page.click("header nav a[href='/console/letters']")
    assert page.url.endswith("/console/letters")
    assert await page.inner_text("h1") == "Brev til post"
    row = page.locator("#letters-queue tr", has_text=reference)
    assert await row.count() == 1
    cells = await row.locator("td").all_inner_texts()
    assert cells[1:3] == ["Kvittering", "Norsk bokmål"] and cells[4] == "Venter på utsending"
    html = await page.content()
    assert street not in html and "15076500565" not in html and "Ørjan" not in html
    assert street not in await page.title()
    await page.screenshot(path=str(screenshot_path("console-letters")), full_page=True)

    async with page.expect_download() as info:
        await row.locator("button.download-letter").click()
    download = await info.value
    assert download.suggested_filename.startswith(f"letter-{reference}-")
    pdf = (await download.path()).read_bytes()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert street in text and "Vi har mottatt kravet ditt" in text and reference in text

    # The new POSTs refuse a forged or missing CSRF token, and GET changes nothing; ops may not come in.
    letter_id = await row.get_attribute("data-letter")
    api = page.context.request
    for action in ("pdf", "posted"):
        forged = await api.post(f"{stack.url}/console/letters/{letter_id}/{action}", form={"csrf": "forged"})
        missing = await api.post(f"{stack.url}/console/letters/{letter_id}/{action}", form={})
        got = await api.get(f"{stack.url}/console/letters/{letter_id}/{action}")
        assert (forged.status, missing.status, got.status) == (403, 403, 405), action
        assert b"%PDF" not in await forged.body()
    ops = await _page(browser)
    await sign_in(ops, stack, "ops-per")
    assert ops.url.endswith("/sla")
    assert await ops.locator("header nav a[href='/console/letters']").count() == 0
    csrf = await ops.get_attribute("form[action='/console/sign-out'] input[name=csrf]", "value")
    crafted = await ops.context.request.post(
        f"{stack.url}/console/letters/{letter_id}/posted", form={"csrf": csrf}
    )
    assert crafted.status == 403
    assert (await ops.goto(f"{stack.url}/console/letters")).status == 403
    await ops.context.close()
    await page.reload()
    assert await page.locator("#letters-queue tr", has_text=reference).count() == 1  # still queued

    await row.locator("button.mark-posted").click()
    await page.wait_for_url(re.compile(r"/console/letters\?notice=posted"))
    assert await page.inner_text("#letters-notice") == "Brevet er merket som sendt."
    assert await page.locator("#letters-queue tr", has_text=reference).count() == 0
    posted = await page.locator("#letters-posted tr", has_text=reference).all_inner_texts()
    assert len(posted) == 1 and "agent-kari" in posted[0]
    async with page.expect_navigation():
        await page.select_option("select[name=lang]", "en")
    assert await page.inner_text("h1") == "Letters for post"
    assert await page.locator("header nav a[aria-current=page]").inner_text() == "Letters for post"
    await page.screenshot(path=str(screenshot_path("console-letters-en")), full_page=True)

    conn = await asyncpg.connect(stack.database_url)
    try:
        letter = await conn.fetchrow("select * from letters where id = $1", int(letter_id))
        assert letter["pdf"] is None and letter["posted_by"] == "agent-kari" and letter["posted_at"]
        actions = await conn.fetch(
            "select actor, action, detail from audit_events where request_id = $1 and actor = 'agent-kari'",
            letter["request_id"],
        )
        done = {a["action"]: json.loads(a["detail"]) for a in actions}
        assert done["console.letter_downloaded"] == {"letter": int(letter_id)}
        assert done["letter_posted"]["template"] == "receipt"
    finally:
        await conn.close()
    # Posted already: neither the PDF nor a second posting.
    again = await api.post(
        f"{stack.url}/console/letters/{letter_id}/pdf",
        form={"csrf": await page.get_attribute("form[action='/console/sign-out'] input[name=csrf]", "value")},
        max_redirects=0,
    )
    assert again.status == 303 and again.headers["location"].endswith("notice=gone")
    await page.context.close()


async def _csrf_of(page: Any, stack: Stack, request_id: str) -> str:
    await page.goto(f"{stack.url}/console/requests/{request_id}")
    return await page.get_attribute("form[action='/console/sign-out'] input[name=csrf]", "value")  # type: ignore[no-any-return]


async def _status(stack: Stack, request_id: str) -> str:
    conn = await asyncpg.connect(stack.database_url)
    try:
        return await conn.fetchval("select status from requests where id = $1", uuid.UUID(request_id))  # type: ignore[no-any-return]
    finally:
        await conn.close()


async def test_parallel_guesses_cannot_outrun_the_limit(stack: Stack) -> None:
    """Eight guesses at once for one account: only the limit's three are tried, the rest refused."""
    import httpx

    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as client:
        page = await client.get("/console/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        form = {"csrf": csrf.group(1), "name": "ghost-account", "password": "guess"}
        answers = await asyncio.gather(*(client.post("/console/sign-in", data=form) for _ in range(8)))
    assert sorted(a.status_code for a in answers) == [401] * 3 + [429] * 5


def test_no_page_broke_its_content_security_policy_and_no_log_holds_personal_data(stack: Stack) -> None:
    """Runs last: every page above loaded without a CSP violation, and the services' logs name
    none of the people the tests asked about."""
    assert CSP_VIOLATIONS == []
    logs = "\n".join(process.logs() for process in stack.processes)
    assert "console sign-in failed" in logs  # the logs were written (INFO)
    for key in ("closed_case_debtor", "shared_phone_a", "unknown_person"):
        subject = showcase_subject(key)
        for value in (subject.national_id, subject.email, subject.phone, subject.phone.removeprefix("+47")):
            assert value not in logs, key
    assert "nobody.known" not in logs and "ghost-account" not in logs
    assert not [street for street in LETTER_ADDRESSES if street in logs]
