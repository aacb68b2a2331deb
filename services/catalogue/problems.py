"""One catalogue problem: which file, where in it, what is wrong."""

from __future__ import annotations

from typing import NamedTuple

Path = tuple[str | int, ...]


class Problem(NamedTuple):
    """`source` names the file (a system's name, `taxonomy` or `parties`); `path` the field in it."""

    source: str
    path: Path
    message: str


def format_path(path: Path) -> str:
    """`tables.cases.primary_key[0]`: keys joined by dots, list positions in brackets."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "<document>"
