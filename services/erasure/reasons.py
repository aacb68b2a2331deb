"""What the subject is told about a kept record, in Norwegian and English.

The catalogue writes its reasons in English; the Norwegian wording of each lives here, keyed by the
English text. A reason the table does not know yet gets a plain Norwegian sentence built from its
legal basis, so a new catalogue rule never leaves the subject without an explanation.
"""

from __future__ import annotations

from dataclasses import dataclass

NORWEGIAN: dict[str, str] = {
    "The case is open and the claim is still being collected; the data is restricted instead.": (
        "Saken er åpen og kravet blir fortsatt innkrevd; opplysningene sperres i stedet for å slettes."
    ),
    "A legal claim needs the data; it is restricted instead.": (
        "Opplysningene trengs for et rettslig krav; de sperres i stedet for å slettes."
    ),
    "The claim is still being collected.": "Kravet blir fortsatt innkrevd.",
    "The case is open; payments document what is still owed.": (
        "Saken er åpen; innbetalingene dokumenterer hva som fortsatt skyldes."
    ),
    "The plan is part of the open case.": "Betalingsavtalen er en del av den åpne saken.",
    "The letters document the open case.": "Brevene dokumenterer den åpne saken.",
    "A legal claim needs the case history.": "Et rettslig krav trenger sakshistorikken.",
    "Holds no personal data once the case is anonymised; the creditor's claim history stays.": (
        "Inneholder ingen personopplysninger når saken er anonymisert; kreditors kravhistorikk beholdes."
    ),
    "The anti-money-laundering act requires us to keep the check for 5 years; it is restricted instead.": (
        "Hvitvaskingsloven pålegger oss å oppbevare kontrollen i 5 år; den sperres i stedet for å slettes."
    ),
    "The accounting act requires us to keep the books for 10 years after booking.": (
        "Bokføringsloven pålegger oss å oppbevare regnskapet i 10 år etter bokføring."
    ),
    "The message concerns a debt collection case and is kept with it.": (
        "Meldingen gjelder en inkassosak og oppbevares sammen med den."
    ),
    "The email concerns a debt collection case and is kept with it.": (
        "E-posten gjelder en inkassosak og oppbevares sammen med den."
    ),
    "The call concerns a debt collection case and is kept with it.": (
        "Samtalen gjelder en inkassosak og oppbevares sammen med den."
    ),
    "Kept with the case it was bought for; erased with it.": (
        "Oppbevares med saken den ble innhentet for, og slettes sammen med den."
    ),
    "Kept with the case it was fetched for; erased with it.": (
        "Oppbevares med saken den ble hentet for, og slettes sammen med den."
    ),
    "The relationship with your organisation is ongoing; we erase when no relationship remains.": (
        "Forholdet til organisasjonen din består; vi sletter når forholdet er avsluttet."
    ),
    # why a column keeps a value the subject had corrected (the catalogue's `kept_as_is`)
    "The call log records the number the call was made from or to; it is a record of the call and is "
    "not changed afterwards.": (
        "Samtaleloggen viser nummeret samtalen kom fra eller gikk til; den dokumenterer samtalen og "
        "endres ikke i ettertid."
    ),
    "A letter is a record of what was sent, and where to; it is not changed afterwards.": (
        "Et brev dokumenterer hva som ble sendt, og hvor; det endres ikke i ettertid."
    ),
    "The anti-money-laundering act requires the check to be kept as it was made.": (
        "Hvitvaskingsloven krever at kontrollen oppbevares slik den ble gjort."
    ),
    "The credit report is kept as the credit bureau delivered it; the bureau corrects its own data.": (
        "Kredittopplysningen oppbevares slik kredittopplysningsforetaket leverte den; foretaket retter "
        "sine egne opplysninger."
    ),
    "The address update is kept as the population register sent it; the register corrects its own data.": (
        "Adresseoppdateringen oppbevares slik Folkeregisteret sendte den; registeret retter sine egne "
        "opplysninger."
    ),
    "The accounting act does not allow a booked entry to be changed; a correction is booked as a new "
    "entry.": (
        "Bokføringsloven tillater ikke at en bokført postering endres; en retting bokføres som en ny "
        "postering."
    ),
}

_EXEMPTION_NB = {
    "17(3)(b)": "en rettslig forpliktelse",
    "17(3)(e)": "et rettskrav",
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


def reason(code: str, english: str, exemptions: tuple[str, ...] | list[str] = ()) -> Reason:
    """A reason with its Norwegian wording (from the table, else built from the legal basis)."""
    basis = tuple(f"GDPR Art. {exemption}" for exemption in exemptions)
    norwegian = NORWEGIAN.get(english)
    if norwegian is None:
        grounds = " og ".join(_EXEMPTION_NB.get(e, f"GDPR art. {e}") for e in exemptions)
        norwegian = (
            f"Vi beholder opplysningene på grunn av {grounds}." if grounds else "Se begrunnelsen på engelsk."
        )
    return Reason(code, english, norwegian, basis)


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
