"""Art. 19, second sentence, on a showcase subject: after a restriction and an erasure, the extract
of the same person's later access request lists the recipients told, what of and when, in JSON (valid
against the published schema), HTML in both languages and the PDF; the guarantor on the same case
is not told about the debtor's notices."""

from __future__ import annotations

import io
import json
import uuid

import jsonschema
from markupsafe import escape
from pypdf import PdfReader

from schemas.generate import extract_schema
from schemas.requests import RequestType
from services.artifacts.sealing import open_sealed
from services.erasure.render import certificate_html
from services.fulfilment.texts import texts
from tests.erasure.conftest import KEYS, Harness
from tests.support.catalogue_texts import leaked


async def _artifacts(h: Harness, request_id: uuid.UUID) -> dict[str, bytes]:
    rows = await h.pool.fetch(
        "select id, kind, key_id, sealed from artifacts where request_id = $1", request_id
    )
    return {r["kind"]: open_sealed(r["sealed"], KEYS.key(r["key_id"]), r["id"].bytes) for r in rows}


async def _access(
    h: Harness, key: str, language: str, *, by_post: bool = False, scope: str | None = None
) -> uuid.UUID:
    request_id = await h.located(key, RequestType.access, {"reply_by": "post"} if by_post else None)
    await h.pool.execute(
        "update requests set language = $2, identity_scope = $3 where id = $1", request_id, language, scope
    )
    await h.fulfil(request_id)
    assert await h.status(request_id) == "completed"
    return request_id


async def test_a_later_access_extract_lists_the_recipients_told_of_the_subjects_changes(
    fresh: Harness,
) -> None:
    h = fresh  # its own load: the subject is restricted, then erased
    restriction = await h.located("open_case_debtor", RequestType.restriction)
    await h.fulfil(restriction)
    assert await h.status(restriction) == "completed"
    told = await h.pool.fetch(
        "select recipient, change, tables, record_count from recipient_notices where request_id = $1 order by id",
        restriction,
    )
    assert told and {t["change"] for t in told} == {"restricted"}
    reference = await h.pool.fetchval("select reference from requests where id = $1", restriction)

    access = await _access(h, "open_case_debtor", "nb", by_post=True)
    artifacts = await _artifacts(h, access)
    assert set(artifacts) == {"extract_json", "extract_html", "extract_pdf"}
    extract = json.loads(artifacts["extract_json"])
    assert list(jsonschema.Draft202012Validator(extract_schema()).iter_errors(extract)) == []
    ours = [n for n in extract["recipients_notified"] if n["request_reference"] == reference]
    parties = h.catalogue.parties.recipients
    assert sorted((n["recipient"], n["change"], n["record_count"]) for n in ours) == sorted(
        (parties[t["recipient"]].name.nb, t["change"], t["record_count"]) for t in told
    )  # a bokmål extract names them in bokmål
    for notice, row in zip(
        sorted(ours, key=lambda n: n["recipient"]),
        sorted(told, key=lambda t: parties[t["recipient"]].name.nb),
        strict=True,
    ):
        assert [f"{t['system']}.{t['table']}" for t in notice["tables"]] == row["tables"]
        assert notice["change_text"] == texts("nb").changes["restricted"] == "begrensning"
        assert notice["notified_at"]
    html = artifacts["extract_html"].decode()
    assert texts("nb").labels["notified"] in html and reference in html
    for t in told:  # the recipients, the systems and the records in bokmål, none in English
        assert parties[t["recipient"]].name.nb in html and parties[t["recipient"]].name.en not in html
    assert leaked(h.catalogue, "nb", artifacts["extract_json"].decode(), html.replace("&#39;", "'")) == []
    assert all(escape(n["recipient"]) in html for n in ours)
    pdf = " ".join(
        " ".join(
            page.extract_text() for page in PdfReader(io.BytesIO(artifacts["extract_pdf"])).pages
        ).split()
    )
    assert texts("nb").labels["notified"] in pdf and reference in pdf and "begrensning" in pdf

    erasure = await h.located("open_case_debtor", RequestType.erasure)
    await h.pool.execute("update requests set language = 'en' where id = $1", erasure)
    await h.fulfil(erasure)
    assert await h.status(erasure) == "completed"
    # asked in English: the certificate names systems, registers and recipients in English only
    [certificate] = await h.certificates(erasure)
    assert certificate["language"] == "en" and certificate["recipients_notified"]
    assert set(certificate["recipients_notified"]) <= {r.name.en for r in parties.values()}
    assert {e["system_title"] for group in ("erased", "anonymised", "kept") for e in certificate[group]} <= {
        s.title.en for s in h.catalogue.systems.values()
    }
    said = {k: v for k, v in certificate.items() if k not in ("erased", "anonymised", "kept", "rescan")}
    said["records"] = [  # each record's reason is kept in both languages, as in the plan
        {k: v for k, v in e.items() if k != "reason"}
        for group in ("erased", "anonymised", "kept")
        for e in certificate[group]
    ]
    html = certificate_html(certificate, "en").replace("&#39;", "'")
    assert leaked(h.catalogue, "en", json.dumps(said, ensure_ascii=False), html) == []
    erased = await h.pool.fetch("select change from recipient_notices where request_id = $1", erasure)
    assert {e["change"] for e in erased} >= {"erased"}
    erasure_reference = await h.pool.fetchval("select reference from requests where id = $1", erasure)
    later = await _artifacts(h, await _access(h, "open_case_debtor", "en"))
    english = json.loads(later["extract_json"])
    listed = {(n["request_reference"], n["change"]) for n in english["recipients_notified"]}
    assert (reference, "restricted") in listed
    assert {(erasure_reference, e["change"]) for e in erased} <= listed
    assert [n["notified_at"] for n in english["recipients_notified"]] == sorted(
        n["notified_at"] for n in english["recipients_notified"]
    )
    html_en = later["extract_html"].decode()
    assert texts("en").labels["notified"] in html_en and "restriction" in html_en

    # On a confirmed email alone (a mailbox can be shared) whose changes they were is not known.
    mailbox = await _artifacts(h, await _access(h, "open_case_debtor", "en", scope="email_direct"))
    assert json.loads(mailbox["extract_json"])["recipients_notified"] == []

    # The guarantor on his case shares the case, not the person: his notices are not hers to read.
    other = json.loads((await _artifacts(h, await _access(h, "guarantor", "en")))["extract_json"])
    assert {n["request_reference"] for n in other["recipients_notified"]}.isdisjoint(
        {reference, erasure_reference}
    )
