"""The catalogue's texts in one language, to assert that a document in the other says none of them."""

from __future__ import annotations

from pydantic import BaseModel

from services.catalogue.model import Catalogue
from services.catalogue.text import Text


def catalogue_texts(catalogue: Catalogue, language: str, *, shortest: int = 12) -> set[str]:
    """Every catalogue text in `language` that the other language words differently, without its
    final full stop, and long enough (`shortest`) not to occur inside another text by chance: the
    parties, the taxonomy and every system's."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, Text):
            if node.nb != node.en and len(node.in_(language)) >= shortest:
                found.add(node.in_(language).rstrip("."))
        elif isinstance(node, BaseModel):
            for name in type(node).model_fields:
                walk(getattr(node, name))
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list | tuple):
            for value in node:
                walk(value)

    walk(catalogue)
    return found


def leaked(catalogue: Catalogue, language: str, *documents: str) -> list[str]:
    """The catalogue texts of the language other than `language` that any of `documents` says."""
    other = catalogue_texts(catalogue, "en" if language == "nb" else "nb")
    assert len(other) > 100  # the walk reached the catalogue's texts
    return sorted(text for text in other if any(text in document for document in documents))
