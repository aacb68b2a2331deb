"""The shared document layer: strict templates and a PDF whose text can be read back."""

from __future__ import annotations

import datetime as dt
import io

import pypdf
from hypothesis import given
from hypothesis import strategies as st

from services.documents.pdf import PdfDocument
from services.documents.templates import long_date


def test_pdf_text_reads_back_with_norwegian_and_polish_letters() -> None:
    doc = PdfDocument("Innsyn for Łukasz Ørjansen", language="nb")
    doc.paragraph("Æ, ø og å skrives som de er.")
    doc.key_values([("Referanse", "DSR-2026-000042"), ("Frist", "1. mars 2029")])
    doc.table(["System", "Tabell"], [("crm", f"kontakter {i}") for i in range(60)])
    reader = pypdf.PdfReader(io.BytesIO(doc.to_bytes()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 2
    for expected in ("Łukasz Ørjansen", "Æ, ø og å", "DSR-2026-000042", "kontakter 59"):
        assert expected in text
    assert reader.metadata is not None and reader.metadata.title == "Innsyn for Łukasz Ørjansen"


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)))
def test_long_date_names_the_day_month_and_year(day: dt.date) -> None:
    nb, en = long_date(day, "nb"), long_date(day, "en")
    assert nb.startswith(f"{day.day}. ") and nb.endswith(str(day.year))
    assert en.startswith(f"{day.day} ") and en.endswith(str(day.year))
