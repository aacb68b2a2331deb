"""The console's pure parts: accounts, the log-a-request form, the SLA figures and chart, the words."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hypothesis import given
from hypothesis import strategies as st

from services.console.accounts import AccountConfigError, ConsoleRole, check_password, parse_accounts
from services.console.forms import parse_request_form
from services.console.i18n import keys, translator
from services.console.settings import ConsoleSettings
from services.console.sla import chart, figures

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ROOT = Path(__file__).resolve().parents[2]


def test_accounts_parse_although_argon2_hashes_hold_commas() -> None:
    one, two = FAST.hash("first password"), FAST.hash("second password")
    assert "," in one
    accounts = parse_accounts(f"kari:agent:{one}, nina:dpo:{two}")
    assert {a.name: a.role for a in accounts.values()} == {"kari": ConsoleRole.agent, "nina": ConsoleRole.dpo}
    assert check_password(accounts["kari"], "first password")
    assert not check_password(accounts["kari"], "second password")
    assert not check_password(None, "first password")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("kari:boss:$argon2id$v=19$m=8,t=1,p=1$x$y", "role must be one of"),
        ("kari:agent:plaintext-password", "not an Argon2 hash"),
        ("kari:agent:$argon2id$a,kari:dpo:$argon2id$b", "name used twice"),
        ("just-a-name", "expected name:role:argon2-hash"),
    ],
)
def test_bad_account_entries_are_named_without_their_secret(spec: str, message: str) -> None:
    with pytest.raises(AccountConfigError, match=message) as error:
        parse_accounts(spec)
    assert "plaintext-password" not in str(error.value)


@given(st.lists(st.from_regex(r"[a-z][a-z0-9._-]{0,20}", fullmatch=True), unique=True, max_size=5))
def test_any_set_of_names_round_trips(names: list[str]) -> None:
    hashed = "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
    spec = ",".join(f"{name}:ops:{hashed}" for name in names)
    assert list(parse_accounts(spec)) == names


def _form(**values: str | list[str]) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in values.items()}


def test_a_phone_request_with_all_three_checks_becomes_the_intake_contract() -> None:
    parsed = parse_request_form(
        _form(
            type="access",
            channel="phone",
            national_id="14837810060",
            received_at="2026-11-20T09:15",
            checks=["national_id", "address", "case_number"],
            language="en",
            notes="Called from work.",
        ),
        verified_by="agent-kari",
    )
    assert parsed.errors == {} and parsed.submission is not None
    submission = parsed.submission
    assert submission.verification is not None and submission.verification.verified_by == "agent-kari"
    assert submission.verification.method == "phone_checks" and len(submission.verification.checks) == 3
    assert submission.received_at is not None and submission.received_at.utcoffset() == timedelta(hours=1)
    assert submission.details.language == "en"


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"type": "access", "channel": "phone", "name": "Kari"}, "national_id", "err_identifier"),
        ({"type": "access", "channel": "web_form", "email": "a@b.no"}, "channel", "err_choice"),
        ({"type": "nonsense", "channel": "phone", "email": "a@b.no"}, "type", "err_choice"),
        (
            {"type": "access", "channel": "letter", "email": "a@b.no", "received_at": "yesterday"},
            "received_at",
            "err_datetime",
        ),
        (
            {"type": "rectification", "channel": "email", "email": "a@b.no", "corrections": "no equals"},
            "corrections",
            "err_corrections_format",
        ),
    ],
)
def test_each_mistake_is_named_next_to_its_field(values: dict[str, str], field: str, message: str) -> None:
    parsed = parse_request_form(_form(**values), verified_by="agent-kari")
    assert parsed.submission is None
    assert parsed.errors.get(field) == message
    assert translator("nb")(message) and translator("en")(message)


def test_sla_figures_bucket_open_requests_and_list_only_references_and_dates() -> None:
    today = date(2026, 11, 24)
    snapshot = figures(
        [
            ("DSR-1", today - timedelta(days=1), False),
            ("DSR-2", today + timedelta(days=3), False),
            ("DSR-3", today + timedelta(days=3), True),
            ("DSR-4", today + timedelta(days=40), False),
        ],
        [(today, 2.0), (today, 4.0), (today - timedelta(days=1), 9.0)],
        today=today,
        at_risk_days=7,
        now=datetime(2026, 11, 24, 12, tzinfo=UTC),
    )
    assert snapshot.buckets == {"overdue": 1, "0-2": 0, "3-7": 2, "8-14": 0, "15-31": 0, "32+": 1}
    assert [i.reference for i in snapshot.overdue] == ["DSR-1"]
    assert [i.reference for i in snapshot.at_risk] == ["DSR-2"]  # paused: its clock does not run
    assert [(b.day, b.median_days, b.count) for b in snapshot.chart.bars] == [
        (today - timedelta(days=1), 9.0, 1),
        (today, 3.0, 2),
    ]
    assert snapshot.chart.top == 12


@given(st.lists(st.tuples(st.integers(0, 40), st.floats(0, 400, allow_nan=False)), max_size=60))
def test_every_bar_fits_inside_the_chart(points: list[tuple[int, float]]) -> None:
    today = date(2026, 11, 24)
    drawn = chart([(today - timedelta(days=d), v) for d, v in points], today=today)
    for bar in drawn.bars:
        assert bar.x >= 0 and bar.x + bar.width <= drawn.width
        assert bar.y >= 0 and bar.y + bar.height <= drawn.height
        assert (today - bar.day).days < 30


def test_every_word_the_templates_ask_for_exists_in_both_languages() -> None:
    used: set[str] = set()
    for template in (ROOT / "services/console/templates").glob("*.html"):
        used |= set(re.findall(r"""\bt\(["']([a-z_]+)["']\)""", template.read_text()))
    assert used and used <= keys()


def test_every_console_setting_is_in_the_readme_with_its_default() -> None:
    readme = (ROOT / "README.md").read_text()
    for name, field in ConsoleSettings.model_fields.items():
        row = next(
            (line for line in readme.splitlines() if line.startswith(f"| `DSR_{name.upper()}` |")), None
        )
        assert row is not None, name
        if field.default not in (None, ""):
            assert str(field.default) in row, name


def test_hash_password_prints_a_hash_the_console_accepts() -> None:
    from typer.testing import CliRunner

    from services.launcher.cli import app

    result = CliRunner().invoke(
        app, ["console", "hash-password", "--stdin"], input="a long enough password\n"
    )
    assert result.exit_code == 0, result.output
    hashed = result.output.strip()
    account = parse_accounts(f"kari:agent:{hashed}")["kari"]
    assert check_password(account, "a long enough password")
    short = CliRunner().invoke(app, ["console", "hash-password", "--stdin"], input="short\n")
    assert short.exit_code == 1


@given(st.text(max_size=60), st.integers(min_value=1, max_value=2**62))
def test_a_letter_download_name_is_safe_whatever_the_reference(reference: str, letter_id: int) -> None:
    from services.console.letters import filename

    name = filename(reference, letter_id)
    assert re.fullmatch(r"letter-[A-Za-z0-9-]*-\d+\.pdf", name)
    assert name.endswith(f"-{letter_id}.pdf")


def test_every_notice_a_letter_can_carry_has_a_name_in_both_languages() -> None:
    from services.notifier.notices import LANGUAGES, Template

    for lang in ("nb", "en"):
        t = translator(lang)
        assert all(t(f"tpl_{template.value}") for template in Template)
        assert all(t(f"lang_{language}") for language in LANGUAGES)
