"""Every catalogue text is written in bokmål and English, and the bokmål is bokmål.

The shipped files (the demo systems, the per-engine examples, the taxonomy, the parties and the
conformance suite's sample system) are loaded with the pipeline's own models; every text found in
them is walked. A text missing a language, a plain string or an empty language is refused by
`dsr catalogue check`, naming the field and the language. Pure (no server).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError
from typer.testing import CliRunner

from services.catalogue.cli import app
from services.catalogue.loader import DEFAULT_CATALOGUE, load_catalogue
from services.catalogue.model import Parties, System, Taxonomy
from services.catalogue.text import Text, language_of, stored_text
from services.systems.sample import SYSTEM_FILE

SYSTEM_FILES = sorted((DEFAULT_CATALOGUE / "systems").glob("*.yaml")) + sorted(
    (DEFAULT_CATALOGUE / "examples").glob("*.yaml")
)
FILES = [DEFAULT_CATALOGUE / "taxonomy.yaml", DEFAULT_CATALOGUE / "parties.yaml", *SYSTEM_FILES, SYSTEM_FILE]

ENGLISH_WORDS = re.compile(
    r"\b(the|and|with|when|which|is|are|you|your|our|of|kept|deleted|data subject)\b", re.I
)
"""Words of English that bokmål never uses: one in an `nb` text means it was not translated."""

NORWEGIAN_LETTERS = re.compile(r"[æøåÆØÅ]")


def _model(file: Path) -> BaseModel:
    document = yaml.safe_load(file.read_text(encoding="utf-8"))
    if file.name == "taxonomy.yaml":
        return Taxonomy.model_validate(document)
    if file.name == "parties.yaml":
        return Parties.model_validate(document)
    if file == SYSTEM_FILE:  # the conformance suite gives it a connection per engine
        document["connection"] = {"database": "sample"}
    return System.model_validate(document)


def _texts(node: Any, path: str = "") -> Iterator[tuple[str, Text]]:
    """Every `Text` in a validated model, with its path."""
    if isinstance(node, Text):
        yield path, node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _texts(getattr(node, name), f"{path}.{name}" if path else name)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _texts(value, f"{path}.{key}")
    elif isinstance(node, list | tuple):
        for index, value in enumerate(node):
            yield from _texts(value, f"{path}[{index}]")


@pytest.fixture(scope="module")
def texts() -> dict[str, list[tuple[str, Text]]]:
    return {
        file.name if file != SYSTEM_FILE else "sample_system.yaml": list(_texts(_model(file)))
        for file in FILES
    }


def test_every_shipped_text_has_both_languages_and_bokmål_that_is_not_the_english(
    texts: dict[str, list[tuple[str, Text]]],
) -> None:
    found = [(file, path, text) for file, listed in texts.items() for path, text in listed]
    assert len(found) > 250  # taxonomy, parties and every system's purposes, retention, reasons, ...
    assert {"taxonomy.yaml", "parties.yaml", "debt_collection.yaml", "marketing.yaml"} <= texts.keys()
    problems = []
    for file, path, text in found:
        if not text.nb or not text.en or text.nb != text.nb.strip():
            problems.append(f"{file}:{path}: a language is empty or unstripped")
        if text.nb == text.en:
            problems.append(f"{file}:{path}: the bokmål is the English ({text.en!r})")
        if english := ENGLISH_WORDS.findall(text.nb):
            problems.append(f"{file}:{path}: English in the bokmål ({', '.join(english)}): {text.nb!r}")
    assert problems == []
    # Not a word-for-word copy either: the bokmål as a whole reads as Norwegian.
    assert sum(bool(NORWEGIAN_LETTERS.search(text.nb)) for _, _, text in found) > len(found) / 3


def test_the_subject_facing_texts_of_every_table_are_bilingual(
    texts: dict[str, list[tuple[str, Text]]],
) -> None:
    """What an extract, a certificate or a notice says of a table is among the texts walked."""
    paths = {path for path, _ in texts["debt_collection.yaml"]}
    for expected in (
        "title",
        "tables.cases.description",
        "tables.cases.purpose",
        "tables.cases.retention.description",
        "tables.cases.erasure.holds[0].reason",
        "tables.claims.erasure.reason",
        "tables.letters.columns.address.kept_as_is",
    ):
        assert expected in paths, expected
    assert "tables.event_signups.purposes[1].purpose" in {p for p, _ in texts["marketing.yaml"]}
    assert "tables.credit_reports.automated_decision.significance" in {
        p for p, _ in texts["credit_bureau.yaml"]
    }
    assert "recipients.creditor.name" in {p for p, _ in texts["parties.yaml"]}
    assert "categories.user.children.health.description" in {p for p, _ in texts["taxonomy.yaml"]}


def test_the_policy_wording_is_used_where_the_policy_has_one() -> None:
    catalogue = load_catalogue(DEFAULT_CATALOGUE)
    cases = catalogue.systems["debt_collection"].tables["cases"]
    assert cases.retention is not None
    assert cases.retention.description.nb == (
        "Den personlige koblingen til saken anonymiseres senest 3 år etter sakens avslutningsdato."
    )
    signups = catalogue.systems["marketing"].tables["event_signups"]
    assert signups.retention is not None and "3 år etter siste kontakt" in signups.retention.description.nb
    it = catalogue.parties.recipients["postal_distribution"].name
    assert it.in_("nb") == "Eksterne leverandører av postdistribusjon og digital distribusjon"
    assert it.in_("en") == "Postal and digital distribution of letters"


def test_a_text_is_asked_for_by_language_and_never_in_another() -> None:
    text = Text(nb=" Navn. ", en="Name.")
    assert (text.in_("nb"), text.in_("en")) == ("Navn.", "Name.")  # stripped
    with pytest.raises(ValueError, match="language 'de'"):
        text.in_("de")
    assert stored_text({"nb": "Navn.", "en": "Name."}) == text
    assert stored_text("Name.").in_("nb") == "Name."  # a ledger row kept before: the same words
    assert [language_of(x) for x in ("en", "nb", "se", None)] == ["en", "nb", "nb", "nb"]  # as `texts`


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Name.", "a plain string: write the text in both languages"),
        ({"en": "Name."}, "the bokmål text (nb) is missing"),
        ({"nb": "Navn."}, "the English text (en) is missing"),
        ({}, "the bokmål text (nb) and the English text (en) are missing"),
    ],
)
def test_the_model_names_the_missing_language(value: object, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Parties.model_validate({"sources": {"the_subject": {"name": value}}})
    [error] = caught.value.errors()
    assert error["loc"] == ("sources", "the_subject", "name")
    assert message in error["msg"]


def _check(root: Path) -> list[str]:
    result = CliRunner().invoke(app, ["check", str(root)])
    assert result.exit_code == 1, result.output
    return result.output.splitlines()


def test_check_refuses_a_text_without_bokmål_a_plain_string_and_an_empty_language(tmp_path: Path) -> None:
    root = tmp_path / "catalogue"
    shutil.copytree(DEFAULT_CATALOGUE, root, ignore=shutil.ignore_patterns("examples"))
    debt, taxonomy, parties = (
        root / "systems" / "debt_collection.yaml",
        root / "taxonomy.yaml",
        root / "parties.yaml",
    )
    document = yaml.safe_load(debt.read_text(encoding="utf-8"))
    del document["tables"]["cases"]["purpose"]["nb"]
    document["tables"]["payments"]["retention"]["description"] = "Kept with the case."
    document["tables"]["letters"]["erasure"]["holds"][0]["reason"]["en"] = "  "
    debt.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    tree = yaml.safe_load(taxonomy.read_text(encoding="utf-8"))
    del tree["categories"]["user"]["children"]["health"]["description"]["nb"]
    taxonomy.write_text(yaml.safe_dump(tree, allow_unicode=True, sort_keys=False), encoding="utf-8")
    named = yaml.safe_load(parties.read_text(encoding="utf-8"))
    named["recipients"]["auditor"]["name"] = {"nb": "Selskapets revisor"}
    parties.write_text(yaml.safe_dump(named, allow_unicode=True, sort_keys=False), encoding="utf-8")

    output = _check(root)
    missing_nb = "the bokmål text (nb) is missing: write the text in both languages, as {nb: ..., en: ...}"
    assert f"{debt}:tables.cases.purpose: {missing_nb}" in output
    assert any(
        line.startswith(f"{debt}:tables.payments.retention.description: a plain string: write the text")
        for line in output
    )
    assert f"{debt}:tables.letters.erasure.holds[0].reason.en: is empty: write the English text" in output
    assert f"{taxonomy}:categories.user.children.health.description: {missing_nb}" in output
    assert any(
        line.startswith(f"{parties}:recipients.auditor.name: the English text (en) is missing")
        for line in output
    )
    assert len([line for line in output if line.startswith(str(root))]) == 5, output
