"""Art. 15(4) inside free text: other people's identifiers in notes, letters and messages. Pure.

Structured redaction (`redaction.py`) knows whose a column is; a call note does not say. A note on
the subject's case may give the spouse's phone, a guarantor's national id, a neighbour's email.
So every value of a `free_text` column is scanned before an extract is stored:

- **identifiers** are found by what they are, not by where they stand: national ids and D-numbers
  (11 digits with valid mod-11 check digits, the widened 2032 rule and synthetic test numbers
  included: `services.intake.domain.identifiers`, a superset of python-stdnum's `fodselsnummer`),
  phone numbers (phonenumbers' matcher, Norway by default), email addresses, bank accounts
  (python-stdnum's `kontonr`), and case, customer and invoice numbers in the shapes the subject's own
  records show and the company's formats (`COMPANY_REFERENCE_FORMATS`);
- one that is the subject's (`SubjectTerms`: the request's identifiers, widened by the records'
  parties) stays; any other is replaced by a marker in the extract's language saying what was
  withheld and why (`[withheld: another person's phone number — Art. 15(4)]`), and counted by kind.
  When in doubt it is withheld: an identifier of the subject that no record ties to them is a loss
  the subject can ask about, another person's disclosed is not undone;
- **names** no identifier gives away cannot be decided by a program: a full name that is not the
  subject's, or a name next to a relationship word ("kona", "samboer", "kausjonist", "guarantor"),
  makes the value *uncertain*, and the extract waits for a person's review (`access.py`).

The scan is idempotent (markers are never scanned again) and never returns, logs or counts a
value it withheld: only kinds and counts leave this module.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from stdnum.no import kontonr

from services.catalogue.model import IdentifierType
from services.fulfilment.texts import MARKER_PATTERN, texts
from services.intake.domain.identifiers import InvalidIdentifier, parse_national_id

REGION = "NO"
"""Phone numbers written without a country code are Norwegian."""


class Withheld(StrEnum):
    """What kind of identifier was withheld (never the value)."""

    national_id = "national_id"
    d_number = "d_number"
    phone = "phone"
    email = "email"
    bank_account = "bank_account"
    case_number = "case_number"
    customer_number = "customer_number"
    invoice_number = "invoice_number"


REFERENCE_KINDS = {
    IdentifierType.case_number: Withheld.case_number,
    IdentifierType.customer_number: Withheld.customer_number,
    IdentifierType.invoice_number: Withheld.invoice_number,
}

COMPANY_REFERENCE_FORMATS: dict[Withheld, tuple[str, ...]] = {
    Withheld.case_number: ("2026-0000001",),
    Withheld.customer_number: ("K001-0000001",),
    Withheld.invoice_number: ("202600000001",),
}
"""Examples of the company's own numbers (case `YYYY-NNNNNNN`, customer `KNNN-NNNNNNN`, invoice
`YYYYNNNNNNNN`): their shapes are looked for in every text, besides the shapes of the reference
values in the subject's records (a case system with other formats teaches its own)."""

_MIN_REFERENCE_DIGITS = 5
"""A shape with fewer digits (`K1`) would match too much ordinary text to be a reference."""


# --------------------------------------------------------------------------------- subject's terms


def _digits(value: str) -> str:
    return "".join(c for c in value if "0" <= c <= "9")


def _reference(value: str) -> str:
    return "".join(c for c in value.upper() if c.isalnum())


def e164(raw: str) -> str | None:
    """The phone number in E.164, or None when it is not a valid one."""
    try:
        number = phonenumbers.parse(raw, REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class ReferenceShape:
    """The shape of a case, customer or invoice number: `2025-0000123` -> `\\d{4}-\\d{7}`."""

    kind: Withheld
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, kind: Withheld, example: str) -> ReferenceShape | None:
        example = example.strip()
        if sum(c.isdigit() for c in example) < _MIN_REFERENCE_DIGITS or not example.isascii():
            return None
        parts = []
        for run in re.finditer(r"\d+|[A-Za-z]+|.", example):
            text = run.group()
            if text.isdigit():
                parts.append(rf"\d{{{len(text)}}}")
            elif text.isalpha():
                parts.append(re.escape(text))
            elif text.isspace():
                return None  # a number is one token
            else:
                parts.append(re.escape(text))
        return cls(kind, re.compile(r"(?<![\w\-/])" + "".join(parts) + r"(?![\w\-/])", re.IGNORECASE))


@dataclass(frozen=True)
class SubjectTerms:
    """What the subject is known by, normalised the way the scan compares: anything else that looks
    like an identifier in a text is another person's."""

    values: frozenset[str] = frozenset()
    """Normalised identifier values: 11-digit national ids and accounts, E.164 phones, casefolded
    emails, upper-case alphanumeric references."""
    name_tokens: frozenset[str] = frozenset()
    """The subject's names, word by word, casefolded."""
    surnames: frozenset[str] = frozenset()
    """Of those, the ones that are only ever a last name (`Sigrid Lystad` is not Ragnar Lystad)."""
    shapes: tuple[ReferenceShape, ...] = ()

    @classmethod
    def build(
        cls,
        identifiers: Iterable[tuple[IdentifierType | str, str]] = (),
        *,
        names: Iterable[str] = (),
        accounts: Iterable[str] = (),
        reference_examples: Iterable[tuple[IdentifierType, str]] = (),
    ) -> SubjectTerms:
        """`identifiers` are the subject's (kind, value); `reference_examples` any reference value
        seen in the records (whoever's: they teach the shape only)."""
        values: set[str] = set()
        for kind, value in identifiers:
            values |= _forms(IdentifierType(kind), str(value))
        for account in accounts:
            if digits := _digits(str(account)):
                values.add(digits)
        split = [[t.casefold() for t in _WORD.findall(str(name))] for name in names]
        tokens = {token for words in split for token in words}
        given = {token for words in split for token in words[:-1]}
        surnames = {words[-1] for words in split if len(words) > 1} - given
        shapes: dict[tuple[Withheld, str], ReferenceShape] = {}
        examples = [(k, e) for k, values_ in COMPANY_REFERENCE_FORMATS.items() for e in values_]
        examples += [(REFERENCE_KINDS[k], str(v)) for k, v in reference_examples if k in REFERENCE_KINDS]
        for kind, example in examples:
            if (shape := ReferenceShape.of(kind, example)) is not None:
                shapes.setdefault((kind, shape.pattern.pattern), shape)
        return cls(frozenset(values), frozenset(tokens), frozenset(surnames), tuple(shapes.values()))

    def owns(self, raw: str) -> bool:
        """Whether a candidate found in a text is one of the subject's identifiers, in any form."""
        return not _candidate_forms(raw).isdisjoint(self.values)


def _forms(kind: IdentifierType, value: str) -> set[str]:
    if kind is IdentifierType.email:
        return {value.strip().casefold()}
    if kind is IdentifierType.phone:
        phone = e164(value)
        return {phone} if phone else {value.strip()}
    if kind is IdentifierType.national_id:
        return {_digits(value)}
    return {_reference(value)}


def _candidate_forms(raw: str) -> set[str]:
    forms = {raw.strip().casefold(), _reference(raw)}
    if digits := _digits(raw):
        forms.add(digits)
    if "@" not in raw and (phone := e164(raw)):
        forms.add(phone)
    return forms - {""}


# ------------------------------------------------------------------------------------ identifiers

_EMAIL = re.compile(r"(?<![\w.+\-])[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,}(?![\w\-])")
_NATIONAL_ID = re.compile(r"(?<![\w+\-.])\d{6}[ \-.]?\d{5}(?![\w\-])")
_ACCOUNT = re.compile(r"(?<![\w+\-.])\d{4}([ .]?)\d{2}\1\d{5}(?![\w\-])")
_PHONE_FALLBACK = re.compile(r"(?<![\w+])(?:\+47|0047)? ?\d{8}(?![\w])")
"""Eight digits written together: the matcher can miss them next to other numbers."""


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    kind: Withheld


def _national_id_kind(raw: str) -> Withheld | None:
    digits = _digits(raw)
    try:
        parse_national_id(digits, accept_synthetic=True)
    except InvalidIdentifier:
        return None
    return Withheld.d_number if digits[0] >= "4" else Withheld.national_id


def _candidates(text: str, shapes: tuple[ReferenceShape, ...]) -> Iterator[_Hit]:
    """Every identifier-looking span, most specific kinds first (an email may hold digits, an
    11-digit national id is also a valid account number now and then)."""
    if "@" in text:
        for match in _EMAIL.finditer(text):
            yield _Hit(match.start(), match.end(), Withheld.email)
    if sum(c.isdigit() for c in text) < _MIN_REFERENCE_DIGITS:
        return
    for match in _NATIONAL_ID.finditer(text):
        if (kind := _national_id_kind(match.group())) is not None:
            yield _Hit(match.start(), match.end(), kind)
    for match in _ACCOUNT.finditer(text):
        if kontonr.is_valid(_digits(match.group())):
            yield _Hit(match.start(), match.end(), Withheld.bank_account)
    for shape in shapes:
        for match in shape.pattern.finditer(text):
            yield _Hit(match.start(), match.end(), shape.kind)


def _phones(text: str) -> Iterator[_Hit]:
    """Phone numbers, in a text whose other identifiers are masked already (the matcher reads
    `400 00 000 01010050053` as one long non-number otherwise)."""
    if sum(c.isdigit() for c in text) < 8:
        return
    for found in phonenumbers.PhoneNumberMatcher(text, REGION):
        yield _Hit(found.start, found.end, Withheld.phone)
    for match in _PHONE_FALLBACK.finditer(text):
        if e164(match.group()):
            yield _Hit(match.start(), match.end(), Withheld.phone)


# ------------------------------------------------------------------------------------------ names

_APOSTROPHES = "'\u2019"
_WORD = re.compile(rf"[^\W\d_]+(?:[\-{_APOSTROPHES}][^\W\d_]+)*")
_SENTENCE_END = frozenset(".!?:;\n•*")
_OPENERS = " \t\"'«»\u201c\u201d\u2018\u2019()[]-\u2013\u2014"
"""What may stand between a sentence's end and its first word: spaces, quotes, brackets, dashes."""
_ORGANISATION_FORMS = frozenset(
    {"as", "asa", "ans", "da", "sa", "ba", "ks", "nuf", "iks", "kf", "hf", "ab", "oy", "ltd", "gmbh", "inc"}
)
_RELATIONS = frozenset(
    {
        "kone",
        "kona",
        "konen",
        "ektefelle",
        "ektefellen",
        "ektemann",
        "ektemannen",
        "mann",
        "mannen",
        "samboer",
        "samboeren",
        "kjæreste",
        "kjæresten",
        "partner",
        "partneren",
        "kausjonist",
        "kausjonisten",
        "medskyldner",
        "medskyldneren",
        "sønn",
        "sønnen",
        "datter",
        "datteren",
        "barn",
        "barnet",
        "barna",
        "mor",
        "moren",
        "mora",
        "far",
        "faren",
        "bror",
        "broren",
        "søster",
        "søsteren",
        "svoger",
        "svigerinne",
        "svigermor",
        "svigerfar",
        "nabo",
        "naboen",
        "naboene",
        "venn",
        "vennen",
        "venninne",
        "venninnen",
        "verge",
        "vergen",
        "fullmektig",
        "fullmektigen",
        "arving",
        "arvingen",
        "wife",
        "husband",
        "spouse",
        "cohabitant",
        "girlfriend",
        "boyfriend",
        "guarantor",
        "co-debtor",
        "codebtor",
        "son",
        "daughter",
        "child",
        "mother",
        "father",
        "brother",
        "sister",
        "neighbour",
        "neighbor",
        "friend",
        "guardian",
        "heir",
    }
)
_FILLERS = frozenset(
    {
        "hans",
        "hennes",
        "deres",
        "sin",
        "sitt",
        "sine",
        "min",
        "mitt",
        "mine",
        "din",
        "ditt",
        "dine",
        "til",
        "skyldner",
        "skyldneren",
        "ved",
        "navn",
        "som",
        "heter",
        "kalt",
        "his",
        "her",
        "their",
        "my",
        "your",
        "named",
        "called",
        "the",
    }
)
_TITLES = frozenset({"fru", "frøken", "herr", "mr", "mrs", "ms", "miss", "dr"})
_NOT_NAMES = frozenset(
    {
        "art",
        "nav",
        "bankid",
        "vipps",
        "altinn",
        "datatilsynet",
        "folkeregisteret",
        "skatteetaten",
        "namsfogden",
        "finanstilsynet",
        "brønnøysundregistrene",
        "plan",
        "pay",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "gdpr",
        "dsr",
    }
)
_LOOK_AHEAD = 3


@dataclass(frozen=True)
class _Word:
    text: str
    start: int
    end: int
    initial: bool
    """First word of a sentence: capitalised whatever it is."""

    @property
    def folded(self) -> str:
        return self.text.casefold()

    @property
    def name_like(self) -> bool:
        first, rest = self.text[0], self.text[1:]
        if not first.isupper() or len(self.text) < 2:
            return False
        parts = re.split(rf"[\-{_APOSTROPHES}]", rest)
        return any(c.islower() for c in rest) and not any(c.isupper() for c in parts[0])


def _words(text: str) -> list[_Word]:
    words = []
    for match in _WORD.finditer(text):
        before = text[: match.start()].rstrip(_OPENERS)
        initial = not before or before[-1] in _SENTENCE_END or text[: match.start()].endswith("\n")
        words.append(_Word(match.group(), match.start(), match.end(), initial))
    return words


def _others_name(word: _Word, own: frozenset[str]) -> bool:
    return word.name_like and word.folded not in own and word.folded not in _NOT_NAMES


def uncertain_mentions(text: str, subject: SubjectTerms) -> int:
    """How many places in the text may name a person other than the subject (no names returned)."""
    plain = MARKER_PATTERN.sub(lambda m: " " * len(m.group()), text)  # markers are no words
    words = _words(plain)
    own = subject.name_tokens
    flagged: set[int] = set()

    def joined(a: _Word, b: _Word) -> bool:
        return plain[a.end : b.start].strip(" ") == ""

    # A run of two or more capitalised words is a full name, unless it names an organisation.
    i = 0
    while i < len(words):
        j = i
        while j + 1 < len(words) and words[j + 1].name_like and joined(words[j], words[j + 1]):
            j += 1
        if words[i].name_like and j > i:
            run = words[i : j + 1]
            after = words[j + 1] if j + 1 < len(words) else None
            organisation = after is not None and after.folded in _ORGANISATION_FORMS
            # A sentence's first word is capitalised anyway ("Skyldner Ola ringte"), unless the
            # subject's surname follows it: then it is a given name ("Sigrid Lystad ringte").
            surname_next = run[1].folded in subject.surnames
            compared = run[1:] if run[0].initial and not surname_next else run
            other = next((w for w in compared if _others_name(w, own)), None)
            if not organisation and other is not None:
                flagged.add(other.start)
            i = j + 1
        else:
            i += 1
    # A name next to a relationship word or a title: someone close to the subject, or a third party.
    for index, word in enumerate(words):
        if word.folded not in _RELATIONS and word.folded not in _TITLES:
            continue
        for ahead in words[index + 1 : index + 1 + _LOOK_AHEAD]:
            gap = plain[word.end : ahead.start]
            if any(c in _SENTENCE_END for c in gap):
                break
            if _others_name(ahead, own):
                flagged.add(ahead.start)
                break
            if ahead.folded not in _FILLERS:
                break
        if index and word.folded in _RELATIONS:
            before = words[index - 1]
            gap = plain[before.end : word.start]
            if gap.strip(" ,") == "" and (not before.initial or "," in gap) and _others_name(before, own):
                flagged.add(before.start)
    return len(flagged)


# ------------------------------------------------------------------------------------------- scan


@dataclass(frozen=True)
class FreeTextScan:
    """A text with other people's identifiers replaced, what was withheld (kind and count) and how
    many places may name another person (a person decides on those)."""

    text: str
    withheld: tuple[tuple[Withheld, int], ...] = ()
    uncertain: int = 0


def scan(text: str, subject: SubjectTerms, language: str = "nb") -> FreeTextScan:
    """Withhold other people's identifiers in `text` (markers in `language`) and count the places
    that may name someone else."""
    protected = [(m.start(), m.end()) for m in MARKER_PATTERN.finditer(text)]
    taken: list[tuple[int, int, Withheld | None]] = [(a, b, None) for a, b in protected]

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b, _ in taken)

    def take(hits: Iterable[_Hit]) -> None:
        for hit in hits:
            if free(hit.start, hit.end):
                owned = subject.owns(text[hit.start : hit.end])
                taken.append((hit.start, hit.end, None if owned else hit.kind))

    take(_candidates(text, subject.shapes))
    while True:  # each number found can free a neighbour the matcher read together with it
        before = len(taken)
        masked = list(text)
        for start, end, _ in taken:
            masked[start:end] = "x" * (end - start)
        take(_phones("".join(masked)))
        if len(taken) == before:
            break
    words = texts(language)
    counts: Counter[Withheld] = Counter()
    pieces, position = [], 0
    for start, end, kind in sorted(taken):
        if kind is None:
            continue
        pieces.append(text[position:start])
        pieces.append(words.withheld_marker.format(what=words.withheld_kinds[kind.value]))
        counts[kind] += 1
        position = end
    pieces.append(text[position:])
    result = "".join(pieces)
    return FreeTextScan(
        text=result,
        withheld=tuple(sorted(counts.items())),
        uncertain=uncertain_mentions(result, subject),
    )
