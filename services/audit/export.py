"""Producing an audit export, shared by `dsr audit export` and the API: read, render, record who asked.

The export itself is an audit event on the request (who took it, in which format), written after
the story was read, so the next export shows every earlier one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import asyncpg

from services.audit.document import render_pdf
from services.audit.repository import load_story
from services.audit.story import AuditStory
from services.runtime.ledger import audit

Format = Literal["json", "pdf"]
MEDIA_TYPES: dict[str, str] = {"json": "application/json", "pdf": "application/pdf"}


def render(story: AuditStory, format: str) -> bytes:
    if format == "pdf":
        return render_pdf(story)
    return story.model_dump_json(indent=2).encode()


async def export(
    conn: asyncpg.Connection, reference_or_id: str, format: str, *, actor: str, now: datetime
) -> bytes | None:
    """The rendered export, or None when no such request exists."""
    story = await load_story(conn, reference_or_id, now=now)
    if story is None:
        return None
    content = render(story, format)
    await audit(conn, uuid.UUID(story.request.id), actor, "audit_exported", {"format": format})
    return content
