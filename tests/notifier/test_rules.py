"""The pure rules of the subject's side, directly and as properties: where a notice goes, what a
confirmed email is worth, how the form's corrections are read."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from schemas.requests import Channel, RequestStatus, RequestType
from services.catalogue.model import IdentifierType
from services.intake.domain.assurance import REQUIRED, Assurance, IdentityScope, email_confirmed, sufficient
from services.locator.scope import direct_findings
from services.notifier.notices import Medium, Template, completion_template, media
from services.public.form import FormInput, corrections, to_submission
from services.systems.plan import IdentifierColumn, SystemPlan, TablePlan

maybe_email = st.one_of(st.none(), st.just("a@example.no"))
maybe_address = st.one_of(st.none(), st.just("Storgata 1, 0155 Oslo"))


@given(st.sampled_from(list(Channel)), st.sampled_from([None, "email", "post"]), maybe_email, maybe_address)
def test_a_notice_goes_only_where_it_can_arrive(
    channel: Channel, reply_by: str | None, email: str | None, address: str | None
) -> None:
    targets = media(channel, reply_by, email=email, postal_address=address)
    assert len(targets) <= 1
    for medium, recipient in targets:
        assert (medium is Medium.email and recipient == email) or (medium is Medium.letter and address)
    if email or address:
        assert targets, "someone reachable is always told"
    if reply_by == "post" and address:
        assert targets == [(Medium.letter, "post")]
    if reply_by == "email" and email:
        assert targets == [(Medium.email, email)]


def test_a_letter_request_is_answered_by_letter_unless_the_subject_asks_for_email() -> None:
    assert media(Channel.letter, None, email="a@example.no", postal_address="x") == [(Medium.letter, "post")]
    assert media(Channel.letter, "email", email="a@example.no", postal_address="x") == [
        (Medium.email, "a@example.no")
    ]
    assert media(Channel.web_form, None, email=None, postal_address=None) == []


@given(st.sampled_from(list(RequestType)), st.sampled_from(list(Assurance)))
def test_a_confirmed_email_is_worth_what_the_type_allows(
    request_type: RequestType, current: Assurance
) -> None:
    level, scope = email_confirmed(request_type, current)
    assert level >= current and sufficient(request_type, level)
    if scope is not None:
        # Limited only where the email alone is what lifted the request to what it needs.
        assert scope is IdentityScope.email_direct
        assert current < REQUIRED[request_type] and REQUIRED[request_type] > Assurance.low
    if REQUIRED[request_type] is Assurance.low:
        assert scope is None


def test_a_confirmed_email_for_access_is_substantial_for_direct_matches_only() -> None:
    assert email_confirmed(RequestType.access, Assurance.low) == (
        Assurance.substantial,
        IdentityScope.email_direct,
    )
    assert email_confirmed(RequestType.newsletter_unsubscribe, Assurance.low) == (Assurance.low, None)
    assert email_confirmed(RequestType.access, Assurance.high) == (Assurance.high, None)


def test_each_final_status_has_its_notice() -> None:
    assert completion_template(RequestType.access, RequestStatus.completed) is Template.completion
    assert completion_template(RequestType.erasure, RequestStatus.completed) is Template.erasure_done
    assert completion_template(RequestType.access, RequestStatus.referred) is Template.referral
    assert completion_template(RequestType.erasure, RequestStatus.refused) is Template.refusal


@given(
    st.dictionaries(
        st.from_regex(r"[a-z]{1,12}", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9 ,]{0,20}[A-Za-z0-9]", fullmatch=True),
        min_size=1,
        max_size=5,
    )
)
def test_corrections_are_read_back_as_written(items: dict[str, str]) -> None:
    text = "\n".join(f"{what} = {value}" for what, value in items.items())
    assert corrections(text) == {what: value.strip() for what, value in items.items()}


@given(
    st.dictionaries(
        st.sampled_from(["type", "email", "phone", "notes", "website", "reply_by"]), st.text(max_size=30)
    )
)
def test_the_form_never_raises_on_any_input(values: dict[str, str]) -> None:
    submission, errors = to_submission(FormInput(values))
    assert (submission is None) == bool(errors)
    if submission is not None:
        assert submission.channel is Channel.web_form


_COLUMNS = (
    IdentifierColumn("email", IdentifierType.email, False),
    IdentifierColumn("national_id", IdentifierType.national_id, False),
    IdentifierColumn("case_number", IdentifierType.case_number, True),
    IdentifierColumn("phone", IdentifierType.phone, False),
)
_PLAN = SystemPlan(
    "crm",
    {"contacts": TablePlan("crm", "contacts", ("id",), _COLUMNS, None, None, None, ("user.contact.email",))},
    (IdentifierType.email,),
    (),
)
_value = st.one_of(st.none(), st.sampled_from(["x", "shared@example.no"]))


@given(st.lists(st.tuples(_value, _value, _value, _value), max_size=8))
def test_email_alone_never_opens_a_row_naming_a_national_id_or_a_case(
    rows: list[tuple[str | None, ...]],
) -> None:
    answer = [("contacts", [str(i)], None, list(values)) for i, values in enumerate(rows)]
    found = direct_findings(_PLAN, IdentifierType.email, "shared@example.no", answer)
    expected = [
        str(i)
        for i, (email, national_id, case_number, _phone) in enumerate(rows)
        if email == "shared@example.no" and national_id is None and case_number is None
    ]
    assert [f.row.key[0] for f in found] == expected
    assert all(f.chain[0] == {"via": "request", "kind": "email"} for f in found)
