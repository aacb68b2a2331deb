"""Letters for post: the notifier's print-and-post queue in the console (agents and the DPO).

The list names references, notice kinds and dates only: the address is in the PDF, which leaves
the ledger through a POST with the CSRF token (audited) and is dropped once the letter is marked as
posted (audited under the person's name); a posted letter leaves the queue.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.api.web import runtime_pool
from services.authority import Action
from services.console import queries, sessions
from services.console.i18n import translator
from services.console.web import guard, language, read_form, redirect, render
from services.runtime.ledger import audit

router = APIRouter(include_in_schema=False)

Poster = Annotated[sessions.Session, guard(Action.post_letters)]

NOTICES = ("posted", "gone")


@router.get("/console/letters")
async def letters_page(request: Request, session: Poster) -> Response:
    async with runtime_pool(request).acquire() as conn:
        queued, posted = await queries.letters(conn)
    t = translator(language(request))
    notice = request.query_params.get("notice")
    return render(
        request,
        "letters.html",
        title=t("letters"),
        session=session,
        queued=queued,
        posted=posted,
        notice=notice if notice in NOTICES else None,
    )


def filename(reference: str, letter_id: int) -> str:
    """A download name from the reference (letters, digits and dashes only) and the letter's id."""
    return f"letter-{re.sub(r'[^A-Za-z0-9-]+', '-', reference)}-{letter_id}.pdf"


@router.post("/console/letters/{letter_id}/pdf")
async def download_letter(request: Request, letter_id: int, session: Poster) -> Response:
    """The letter's PDF for printing, straight from the ledger; the download is audited."""
    await read_form(request, session)
    async with runtime_pool(request).acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """select l.request_id, l.pdf, r.reference from letters l join requests r on r.id = l.request_id
               where l.id = $1 and l.posted_at is null""",
            letter_id,
        )
        if row is None:
            return redirect("/console/letters?notice=gone")
        await audit(
            conn, row["request_id"], session.account, "console.letter_downloaded", {"letter": letter_id}
        )
    return Response(
        bytes(row["pdf"]),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename(row["reference"], letter_id)}"'},
    )


@router.post("/console/letters/{letter_id}/posted")
async def mark_posted(request: Request, letter_id: int, session: Poster) -> Response:
    """Posted: out of the queue, its PDF (and so the address) dropped, the person's name kept."""
    await read_form(request, session)
    async with runtime_pool(request).acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """update letters l set posted_at = now(), posted_by = $2, pdf = null
               from notices n where l.id = $1 and l.posted_at is null and n.id = l.notice_id
               returning l.request_id, l.notice_id, n.template""",
            letter_id,
            session.account,
        )
        if row is None:
            return redirect("/console/letters?notice=gone")
        await audit(
            conn,
            row["request_id"],
            session.account,
            "letter_posted",
            {"letter": letter_id, "notice": row["notice_id"], "template": row["template"]},
        )
    return redirect("/console/letters?notice=posted")
