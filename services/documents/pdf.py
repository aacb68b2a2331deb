"""PDF for letters and archives: a small document model rendered with fpdf2.

The fonts (DejaVu Sans, bundled with their licence) cover Latin, Greek and Cyrillic, so a
name like "Łukasz" or "Ørjan" prints as written; no system font is needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

_FONT = "DejaVu"


def _font_path(name: str) -> Path:
    return Path(str(resources.files("services.documents").joinpath("fonts", name)))


@dataclass
class PdfDocument:
    """Append headings, paragraphs, key/value lists and tables; `to_bytes` lays them out on A4."""

    title: str
    language: str = "nb"
    author: str = "DSR pipeline"
    _pdf: FPDF = field(init=False, repr=False)

    def __post_init__(self) -> None:
        pdf = FPDF(format="A4")
        pdf.set_auto_page_break(auto=True, margin=18)
        pdf.add_font(_FONT, "", str(_font_path("DejaVuSans.ttf")))
        pdf.add_font(_FONT, "B", str(_font_path("DejaVuSans-Bold.ttf")))
        pdf.set_title(self.title)
        pdf.set_author(self.author)
        pdf.set_lang(self.language)
        pdf.alias_nb_pages()
        pdf.add_page()
        self._pdf = pdf
        self.heading(self.title, level=1)

    @property
    def width(self) -> float:
        return float(self._pdf.epw)

    def heading(self, text: str, level: int = 2) -> None:
        size = {1: 17, 2: 13, 3: 11}.get(level, 11)
        self._pdf.set_font(_FONT, "B", size)
        self._pdf.ln(2 if level > 1 else 0)
        self._pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self._pdf.ln(1)

    def paragraph(self, text: str, size: float = 10) -> None:
        self._pdf.set_font(_FONT, "", size)
        self._pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self._pdf.ln(1.5)

    def key_values(self, pairs: Iterable[tuple[str, str]], size: float = 9.5) -> None:
        rows = [(str(k), str(v)) for k, v in pairs]
        if rows:
            self.table(None, rows, widths=(1, 2), size=size)

    def table(
        self,
        headers: Sequence[str] | None,
        rows: Iterable[Sequence[object]],
        *,
        widths: Sequence[int] | None = None,
        size: float = 8.5,
    ) -> None:
        self._pdf.set_font(_FONT, "", size)
        with self._pdf.table(
            col_widths=tuple(widths) if widths else None,
            first_row_as_headings=headers is not None,
            line_height=size * 0.5,
            text_align="LEFT",
            headings_style=FontFace(family=_FONT, emphasis="BOLD", fill_color=(235, 235, 235)),
        ) as table:
            if headers is not None:
                heading = table.row()
                for cell in headers:
                    heading.cell(str(cell))
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell("" if value is None else str(value))
        self._pdf.ln(2)

    def page_break(self) -> None:
        self._pdf.add_page()

    def to_bytes(self) -> bytes:
        return bytes(self._pdf.output())
