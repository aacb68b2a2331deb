"""Which recipients were told of the subject's earlier changes (Art. 19, second sentence). Pure.

Notices are kept per request (`services.erasure.notices`); an earlier request is the subject's
when it shares a person identifier with this one (national id, email, phone) and none of its
person identifiers says it is someone else's: a different national id is a different person, and
a different email or phone beside a shared one is a household's, not the subject's (the locator
never merges people either). A shared case number alone is the guarantor's or the debtor's, not
both: it matches nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from schemas.extract import NoticeTable, RecipientNotice
from services.catalogue.model import Catalogue, IdentifierType
from services.catalogue.text import language_of
from services.fulfilment.texts import texts
from services.systems.plan import PERSON_KINDS

_PERSON = frozenset(kind.value for kind in PERSON_KINDS)


def same_subject(ours: Mapping[str, str], theirs: Mapping[str, str]) -> bool:
    """Whether an earlier request with identifiers `theirs` is about the subject of `ours`."""
    national_id = IdentifierType.national_id.value
    if national_id in ours and national_id in theirs:
        return ours[national_id] == theirs[national_id]
    both = [kind for kind in _PERSON if kind in ours and kind in theirs]
    return bool(both) and all(ours[kind] == theirs[kind] for kind in both)


def _table(catalogue: Catalogue, name: str, language: str) -> NoticeTable:
    system, _, table = name.partition(".")
    title = catalogue.systems[system].title.in_(language) if system in catalogue.systems else system
    return NoticeTable(system=system, system_title=title, table=table)


def recipients_notified(
    catalogue: Catalogue,
    ours: Mapping[str, str],
    notices: Iterable[Mapping[str, Any]],
    language: str,
) -> list[RecipientNotice]:
    """The extract's `recipients_notified`: the notices of the subject's earlier requests (rows of
    `recipients_told`), oldest first, recipients by their catalogue name in `language`."""
    language = language_of(language)
    words = texts(language)
    parties = catalogue.parties.recipients
    listed = [
        RecipientNotice(
            recipient=parties[n["recipient"]].name.in_(language)
            if n["recipient"] in parties
            else n["recipient"],
            change=n["change"],
            change_text=words.changes[n["change"]],
            tables=[_table(catalogue, name, language) for name in n["tables"]],
            record_count=n["record_count"],
            notified_at=n["created_at"],
            request_reference=n["reference"],
        )
        for n in notices
        if same_subject(ours, n.get("identifiers") or {})
    ]
    return sorted(listed, key=_oldest_first)


def _oldest_first(notice: RecipientNotice) -> tuple[datetime, str, str]:
    return (notice.notified_at, notice.request_reference, notice.recipient)
