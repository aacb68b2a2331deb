"""The public pages in real Chromium: axe-core finds no serious or critical violation (nb, en, with
errors), the form works by keyboard without JavaScript, and the whole journey runs against the real
services: a person submits the form in Norwegian for a showcase subject's email, gets the
confirmation email on a real SMTP server, follows the link, and downloads the extract from the
completion email's link. Screenshots go to test-artifacts/."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from services.demo.loader import DemoSystems
from services.demo.showcase import showcase_subject
from services.notifier.sink import CaughtMail, MailSink
from services.runtime.settings import Settings
from tests.support.browser import chromium_page, screenshot_path
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.browser


async def _axe(page: Any, script: str) -> list[dict[str, Any]]:
    # Evaluated through the DevTools protocol: the page's CSP (rightly) refuses injected script tags.
    await page.evaluate(script)
    result = await page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    assert result["testEngine"]["name"] == "axe-core" and result["passes"] is not None
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def test_the_form_has_no_serious_accessibility_violation(public_url: str, axe_script: str) -> None:
    async with chromium_page() as page:
        for lang in ("nb", "en"):
            await page.goto(f"{public_url}/request?lang={lang}")
            assert await page.get_attribute("html", "lang") == lang
            assert await _axe(page, axe_script) == []
            await page.screenshot(path=str(screenshot_path(f"public-request-{lang}")), full_page=True)
        # Errors: submitted empty, by keyboard (no script on the page at all).
        await page.goto(f"{public_url}/request?lang=nb")
        assert await page.locator("script").count() == 0
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.className") == "skip"
        await page.focus("button[type=submit]")
        await page.keyboard.press("Enter")
        await page.wait_for_selector(".summary")
        assert await _axe(page, axe_script) == []
        for target in await page.locator(".summary a").evaluate_all("links => links.map(a => a.hash)"):
            assert await page.locator(target).count() == 1  # each message links to its field
        assert await page.get_attribute("fieldset:has(#type-access)", "aria-describedby") == "type-error"
        group = await page.get_attribute("fieldset:has(#identifiers-hint)", "aria-describedby") or ""
        assert "identifiers-error" in group
        await page.screenshot(path=str(screenshot_path("public-request-errors")), full_page=True)
        for path in ("/status?lang=nb", "/status?lang=en"):
            await page.goto(f"{public_url}{path}")
            assert await _axe(page, axe_script) == []


async def _mail(sink: MailSink, to: str, subject: str, timeout: float = 90) -> CaughtMail:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for mail in sink.messages:
            if to in mail.recipients and mail.subject.startswith(subject):
                return mail
        await asyncio.sleep(0.2)
    got = [(m.recipients, m.subject) for m in sink.messages if to in m.recipients]
    raise AssertionError(f"no mail {subject!r} to the subject; got {got}")


@pytest.mark.slow
async def test_a_person_asks_confirms_by_email_and_downloads_the_extract(
    settings: Settings, showcase: DemoSystems, mail_sink: MailSink, axe_script: str, tmp_path: Path
) -> None:
    subject = showcase_subject("newsletter_only")
    intake = ServiceProcess("intake", settings, tmp_path / "logs")
    env = {
        "DSR_SMTP_HOST": "127.0.0.1",
        "DSR_SMTP_PORT": str(mail_sink.port),
        "DSR_SMTP_TLS": "none",
        "DSR_NOTICE_POLL_SECONDS": "0.2",
        **showcase.env,
        "DSR_PUBLIC_BASE_URL": intake.url,
    }
    processes = [intake] + [
        ServiceProcess(name, settings, tmp_path / "logs") for name in ("locator", "fulfilment", "notifier")
    ]
    for process in processes:
        process.extra_env = env
        process.start()
    try:
        started = time.monotonic()
        for process in processes:
            await asyncio.to_thread(process.wait_ready, 90.0)
        print(f"services ready in {time.monotonic() - started:.1f} s")
        await _journey(intake.url, subject.email, mail_sink, axe_script)
    except BaseException:
        for process in processes:
            print(f"--- {process.service} log (tail) ---\n{process.logs()[-3000:]}")
        raise
    finally:
        for process in processes:
            await asyncio.to_thread(process.stop)


async def _journey(base: str, email: str, sink: MailSink, axe_script: str) -> None:
    async with chromium_page() as page:
        await page.goto(f"{base}/request?lang=nb")
        await page.get_by_label("Innsyn").check()
        await page.get_by_label("E-postadresse").fill(email)
        await page.screenshot(path=str(screenshot_path("journey-1-form")), full_page=True)
        await page.get_by_role("button", name="Send kravet").click()
        await page.wait_for_selector("#reference")
        reference = await page.inner_text("#reference")
        assert re.fullmatch(r"DSR-\d{4}-\d{6}", reference)
        assert await _axe(page, axe_script) == []
        await page.screenshot(path=str(screenshot_path("journey-2-receipt")), full_page=True)

        submitted = time.monotonic()
        verification = await _mail(sink, email, "Bekreft kravet ditt")
        print(f"confirmation email {time.monotonic() - submitted:.1f} s after the form")
        assert reference in verification.body and not re.search(r"\d{11}", verification.body)
        link = re.search(r"https?://\S+/verify/\S+", verification.body)
        assert link is not None, verification.body
        await page.goto(link.group(0))
        await page.screenshot(path=str(screenshot_path("journey-3-confirm")), full_page=True)
        await page.get_by_role("button", name="Bekreft").click()
        await page.wait_for_selector("text=e-postadressen er bekreftet")
        await page.screenshot(path=str(screenshot_path("journey-4-confirmed")), full_page=True)

        confirmed = time.monotonic()
        done = await _mail(sink, email, "Kravet ditt er behandlet")
        print(f"completion email {time.monotonic() - confirmed:.1f} s after the confirmation")
        download = re.search(r"https?://\S+/download/\S+", done.body)
        assert download is not None, done.body
        secret = re.search(r"denne koden: (\S+)", done.body)
        assert secret is not None
        await page.goto(f"{base}/status?lang=nb")
        await page.get_by_label("Referanse").fill(reference)
        await page.get_by_label("Kode fra e-posten").fill(secret.group(1))
        await page.get_by_role("button", name="Vis status").click()
        assert await page.inner_text("#status") == "Ferdig"
        await page.screenshot(path=str(screenshot_path("journey-5-status")), full_page=True)

        # the status page gave the subject a fresh link, which ended the mail's (one live link per
        # artifact and recipient, issue 22): the mail's now says it is gone, the page's works
        gone = await page.goto(download.group(0))
        assert gone is not None and gone.status == 410
        await page.goto(f"{base}/status?lang=nb")
        await page.get_by_label("Referanse").fill(reference)
        await page.get_by_label("Kode fra e-posten").fill(secret.group(1))
        await page.get_by_role("button", name="Vis status").click()
        fresh = await page.get_attribute("a[href*='/download/']", "href")
        assert fresh is not None
        await page.goto(f"{base}{fresh}")
        await page.screenshot(path=str(screenshot_path("journey-6-download")), full_page=True)
        async with page.expect_download() as waiting:
            await page.click("#file")
        file = await (await waiting.value).path()
        extract = json.loads(await asyncio.to_thread(Path(file).read_text))
        assert extract["reference"] == reference
        assert {r["system"] for r in extract["records"]} == {"marketing"}
        assert extract["scope"]["scope"] == "email_direct"
