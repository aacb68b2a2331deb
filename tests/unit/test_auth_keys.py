"""Parsing DSR_API_KEYS: valid entries become keys, bad ones fail without echoing the secret."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.api.auth import ApiKey, KeyConfigError, Role, parse_keys

SECRET = "s3cr3t-value-0123456789"


def test_a_valid_spec_gives_one_key_per_entry() -> None:
    spec = f"portal:system:{SECRET}, desk:agent:agent-secret-0123456789 ,oncall:ops:ops-secret-0123456789"
    assert parse_keys(spec) == [
        ApiKey("portal", Role.system, SECRET),
        ApiKey("desk", Role.agent, "agent-secret-0123456789"),
        ApiKey("oncall", Role.ops, "ops-secret-0123456789"),
    ]


@pytest.mark.parametrize("spec", ["", " ", ",", " , ,"])
def test_an_empty_spec_gives_no_keys(spec: str) -> None:
    assert parse_keys(spec) == []


def test_a_secret_may_contain_colons() -> None:
    assert parse_keys("portal:system:abc:def:0123456789xyz") == [
        ApiKey("portal", Role.system, "abc:def:0123456789xyz")
    ]


def test_a_secret_of_exactly_sixteen_characters_is_accepted() -> None:
    assert parse_keys("portal:ops:" + "x" * 16)[0].secret == "x" * 16


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        (f"portal:admin:{SECRET}", "role must be one of system, agent, ops"),
        (f"portal:System:{SECRET}", "role must be one of"),
        (f"portal:{SECRET}", "expected name:role:secret"),
        (SECRET, "expected name:role:secret"),
        (f":system:{SECRET}", "expected name:role:secret"),
        (f"portal::{SECRET}", "expected name:role:secret"),
        ("portal:system:", "expected name:role:secret"),
        ("portal:system:short-secret", "at least 16 characters"),
        (f"ok:agent:agent-secret-0123456789,portal:agent:{SECRET[:15]}", "entry 2 (portal)"),
    ],
)
def test_a_bad_entry_raises_an_error_that_names_the_entry_but_not_the_secret(
    spec: str, fragment: str
) -> None:
    with pytest.raises(KeyConfigError) as info:
        parse_keys(spec)
    message = str(info.value)
    assert fragment in message
    assert SECRET not in message
    assert SECRET[:15] not in message
    assert "short-secret" not in message


# "#" never occurs in a name, a role or the fixed text of an error, so any hit is the secret leaking.
SECRETS = st.text(
    st.characters(blacklist_characters=",:", blacklist_categories=["Cs", "Zs", "Zl", "Zp", "Cc"]), max_size=40
).map(lambda s: "#" + s)
NAMES = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)


@given(NAMES, st.text("abcdefghijklmnopqrstuvwxyz", max_size=8), SECRETS, st.integers(0, 3))
def test_no_configuration_error_contains_the_secret(name: str, role: str, secret: str, mistake: int) -> None:
    entry = [
        f"{name}:{role}:{secret}",
        f"{name}:{secret}",
        f"{name}:system:{secret[:15]}",
        f"{role}:{secret}",
    ]
    try:
        keys = parse_keys(f"first:agent:first-secret-0123456789,{entry[mistake]}")
    except KeyConfigError as exc:
        assert "entry 2" in str(exc)
        assert "#" not in str(exc)
    else:
        assert keys[1] == ApiKey(name, Role(role), secret)
        assert len(secret) >= 16


def test_key_config_error_is_a_value_error() -> None:
    assert issubclass(KeyConfigError, ValueError)
