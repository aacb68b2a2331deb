"""One-time download links: work once, die after use or expiry, refuse forged tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from services.artifacts.sealing import ConfiguredKeys
from services.artifacts.store import ArtifactKind, ArtifactStore
from tests.intake.helpers import auth, submission


async def _artifact(settings, pool, submit) -> tuple[str, uuid.UUID]:  # type: ignore[no-untyped-def]
    response = await submit(submission())
    request_id = uuid.UUID(response.json()["id"])
    store = ArtifactStore(ConfiguredKeys.parse(settings.artifact_keys))
    async with pool.acquire() as conn, conn.transaction():
        artifact_id = await store.put(
            conn,
            request_id=request_id,
            kind=ArtifactKind.extract_json,
            media_type="application/json",
            filename="extract.json",
            content=b'{"records": []}',
            actor="fulfilment",
        )
    return str(request_id), artifact_id


async def test_a_link_works_once_then_is_gone(settings, pool, submit, api: httpx.AsyncClient) -> None:  # type: ignore[no-untyped-def]
    request_id, _ = await _artifact(settings, pool, submit)
    listing = await api.get(f"/v1/requests/{request_id}/artifacts")
    assert listing.status_code == 200, listing.text
    [link] = listing.json()
    assert (link["kind"], link["media_type"], link["size"]) == ("extract_json", "application/json", 15)
    async with httpx.AsyncClient(timeout=10) as anonymous:  # the subject's link needs no key
        first = await anonymous.get(link["download_url"])
        second = await anonymous.get(link["download_url"])
    assert first.status_code == 200 and first.content == b'{"records": []}'
    assert first.headers["cache-control"] == "no-store"
    assert "attachment" in first.headers["content-disposition"]
    assert second.status_code == 410
    actions = [r["action"] for r in await pool.fetch("select action from audit_events order by id")]
    assert actions.count("artifact_downloaded") == 1 and "download_link_issued" in actions


async def test_an_expired_or_forged_link_gives_nothing(
    settings, pool, submit, api: httpx.AsyncClient
) -> None:  # type: ignore[no-untyped-def]
    request_id, _ = await _artifact(settings, pool, submit)
    [link] = (await api.get(f"/v1/requests/{request_id}/artifacts")).json()
    token = link["download_url"].rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    async with httpx.AsyncClient(timeout=10) as anonymous:
        assert (await anonymous.get(link["download_url"].replace(token, forged))).status_code == 404
        await pool.execute("update download_tokens set expires_at = now() - interval '1 second'")
        assert (await anonymous.get(link["download_url"])).status_code == 410


async def test_a_purged_artifact_cannot_be_downloaded_and_the_purge_is_audited(
    settings, pool, submit, api
) -> None:  # type: ignore[no-untyped-def]
    request_id, _ = await _artifact(settings, pool, submit)
    [link] = (await api.get(f"/v1/requests/{request_id}/artifacts")).json()
    store = ArtifactStore(ConfiguredKeys.parse(settings.artifact_keys))
    async with pool.acquire() as conn, conn.transaction():
        assert (
            await store.purge(conn, older_than=datetime.now(UTC) + timedelta(seconds=1), actor="fulfilment")
            == 1
        )
    async with httpx.AsyncClient(timeout=10) as anonymous:
        assert (await anonymous.get(link["download_url"])).status_code == 410
    assert (await api.get(f"/v1/requests/{request_id}/artifacts")).json() == []
    assert await pool.fetchval("select count(*) from audit_events where action = 'artifact_purged'") == 1
    assert await pool.fetchval("select count(*) from artifacts where sealed is not null") == 0


async def test_only_agents_and_the_dpo_list_artifacts(settings, pool, submit, intake_url: str) -> None:  # type: ignore[no-untyped-def]
    """The extract is the case file: those who work cases get links, operations and systems do not."""
    request_id, _ = await _artifact(settings, pool, submit)
    async with httpx.AsyncClient(base_url=intake_url, timeout=10) as client:
        assert (await client.get(f"/v1/requests/{request_id}/artifacts")).status_code == 401
        for role in ("system", "ops"):
            refused = await client.get(f"/v1/requests/{request_id}/artifacts", headers=auth(role))
            assert refused.status_code == 403 and role in refused.json()["detail"]
        for role in ("agent", "dpo"):
            listing = await client.get(f"/v1/requests/{request_id}/artifacts", headers=auth(role))
            assert listing.status_code == 200, (role, listing.text)
        assert (
            await client.get(f"/v1/requests/{uuid.uuid4()}/artifacts", headers=auth("dpo"))
        ).status_code == 404


async def test_content_is_encrypted_at_rest(settings, pool, submit) -> None:  # type: ignore[no-untyped-def]
    await _artifact(settings, pool, submit)
    sealed = await pool.fetchval("select sealed from artifacts")
    assert b"records" not in sealed
