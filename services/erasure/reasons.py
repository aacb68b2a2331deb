"""What the subject is told about a kept record, in Norwegian and English.

The catalogue writes every reason in both languages (`services/catalogue/text.py`); the pipeline's
own reasons (erased, anonymised, referred, ...) are written here. A rule without a reason of its own
(an Art. 17(3) exemption with no `reason` text) gets a plain sentence built from its legal basis, so
that no rule leaves the subject without an explanation.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.catalogue.text import Text

_EXEMPTION_WORDS = {
    "17(3)(b)": ("a legal obligation", "en rettslig forpliktelse"),
    "17(3)(e)": ("a legal claim", "et rettskrav"),
}


@dataclass(frozen=True)
class Reason:
    """Why a record is treated as it is: the legal basis and the same reason in both languages."""

    code: str
    en: str
    nb: str
    legal_basis: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "en": self.en, "nb": self.nb, "legal_basis": list(self.legal_basis)}


def reason(code: str, text: Text | None, exemptions: tuple[str, ...] | list[str] = ()) -> Reason:
    """A reason in the catalogue's words, or without them one built from the legal basis."""
    basis = tuple(f"GDPR Art. {exemption}" for exemption in exemptions)
    if text is not None:
        return Reason(code, text.en, text.nb, basis)
    words = [_EXEMPTION_WORDS.get(e, (f"GDPR Art. {e}", f"GDPR art. {e}")) for e in exemptions]
    if not words:
        return Reason(
            code,
            "We keep the data; a person can tell you why.",
            "Vi beholder opplysningene; en saksbehandler kan forklare hvorfor.",
            basis,
        )
    english = " and ".join(en for en, _ in words)
    norwegian = " og ".join(nb for _, nb in words)
    return Reason(
        code,
        f"We keep the data because of {english}.",
        f"Vi beholder opplysningene på grunn av {norwegian}.",
        basis,
    )


ERASED = Reason("erased", "Erased at your request.", "Slettet etter ditt krav.")
ANONYMISED = Reason(
    "anonymised",
    "The link to you is removed; the record stays without personal data.",
    "Koblingen til deg er fjernet; posten beholdes uten personopplysninger.",
)
RETENTION_EXPIRED = Reason(
    "retention_expired",
    "The period we had to keep it for has ended.",
    "Perioden vi måtte oppbevare den i, er over.",
)
ALREADY_GONE = Reason("already_gone", "No longer held.", "Finnes ikke lenger hos oss.")
REFERRED = Reason(
    "referred_to_controller",
    "We hold this on behalf of a client, who decides; your request has been passed on to them.",
    "Vi behandler dette på vegne av en kunde, som avgjør; kravet ditt er sendt videre til dem.",
)
NO_RULE = Reason(
    "no_rule",
    "The catalogue gives no erasure rule for this record; a person decides.",
    "Katalogen har ingen sletteregel for denne posten; en saksbehandler avgjør.",
)
AMBIGUOUS = Reason(
    "ambiguous",
    "We could not establish whether a rule to keep it applies; a person decides.",
    "Vi kunne ikke fastslå om en regel om oppbevaring gjelder; en saksbehandler avgjør.",
)
MANUAL = Reason(
    "manual_system",
    "This system has no interface; a person erases or restricts the record by hand.",
    "Dette systemet har ikke grensesnitt; en saksbehandler sletter eller sperrer posten manuelt.",
)
FOUND_THROUGH_PARENT = Reason(
    "found_through_parent",
    "Found again only through the record it belongs to; it holds no personal data of its own any more.",
    "Funnet igjen bare gjennom posten den hører til; den inneholder ikke lenger egne personopplysninger.",
)
FOUND_THROUGH_KEPT_IDENTIFIER = Reason(
    "found_through_kept_identifier",
    "Found again only through a reference number that a record we keep, or have passed on to its "
    "controller, also holds; it holds no personal data of its own any more.",
    "Funnet igjen bare gjennom et referansenummer som også står i en post vi beholder, eller har sendt "
    "videre til den behandlingsansvarlige; den inneholder ikke lenger egne personopplysninger.",
)
