"""A catalogue text in both of the pipeline's languages: bokmål (`nb`) and English (`en`).

Every text the catalogue gives a data subject or an agent (a purpose, a retention rule, a reason
for keeping a record, a category's or a recipient's name) is written as `{nb: ..., en: ...}`, so
that a bokmål extract, certificate or console page never falls back to English. Both languages are
required, non-empty and stripped: a plain string or a missing language is refused on load, naming
the field and the language, and a caller asks for the request's language with `in_` instead of
indexing a mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

Language = Literal["nb", "en"]
LANGUAGES: tuple[Language, ...] = ("nb", "en")
LANGUAGE_NAMES: dict[Language, str] = {"nb": "bokmål", "en": "English"}


class Text(BaseModel):
    """One text, in bokmål and in English; write the bokmål as a Norwegian notice would say it."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    nb: str = Field(min_length=1, description="The text in Norwegian bokmål.")
    en: str = Field(min_length=1, description="The text in English.")

    @model_validator(mode="before")
    @classmethod
    def _both_languages(cls, data: Any) -> Any:
        if isinstance(data, str):
            raise PydanticCustomError(
                "text_not_bilingual",
                "a plain string: write the text in both languages, as {nb: <bokmål>, en: <English>}",
            )
        if isinstance(data, dict):
            missing = [language for language in LANGUAGES if language not in data]
            if missing:
                named = " and ".join(f"the {LANGUAGE_NAMES[m]} text ({m})" for m in missing)
                verb = "are" if len(missing) > 1 else "is"
                raise PydanticCustomError(  # no context: the braces below are not a template
                    "text_language_missing",
                    f"{named} {verb} missing: write the text in both languages, as {{nb: ..., en: ...}}",
                )
        return data

    def in_(self, language: str) -> str:
        """The text in `language` (`nb` or `en`, as a request states it)."""
        if language == "en":
            return self.en
        if language == "nb":
            return self.nb
        raise ValueError(f"no catalogue text in language {language!r} (nb or en)")

    def as_dict(self) -> dict[str, str]:
        return {"nb": self.nb, "en": self.en}


def language_of(requested: str | None) -> Language:
    """The language to say a request's texts in: English when it asks for English, else bokmål
    (the company's language), as every document of the pipeline falls back."""
    return "en" if requested == "en" else "nb"


def text(nb: str, en: str) -> Text:
    """A text from code (tests, defaults): the same validation as the catalogue's."""
    return Text(nb=nb, en=en)


def stored_text(value: str | Mapping[str, str]) -> Text:
    """A text as the ledger kept it: `{nb, en}`, or a plain string written before the catalogue
    was bilingual (then the same words stand for both languages)."""
    if isinstance(value, str):
        return Text.model_construct(nb=value, en=value)
    return Text.model_validate(value)
