import base64
import os

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import given
from hypothesis import strategies as st

from services.artifacts.sealing import ConfiguredKeys, UnknownKey, new_key_spec, open_sealed, seal

KEY = os.urandom(32)


@given(st.binary(max_size=4096), st.binary(min_size=16, max_size=16))
def test_what_is_sealed_opens_to_the_same_bytes(content: bytes, artifact_id: bytes) -> None:
    assert open_sealed(seal(content, KEY, artifact_id), KEY, artifact_id) == content


def test_a_changed_byte_another_artifact_or_another_key_does_not_open() -> None:
    sealed = seal(b"extract", KEY, b"a" * 16)
    flipped = sealed[:-1] + bytes([sealed[-1] ^ 1])
    for attempt in (
        lambda: open_sealed(flipped, KEY, b"a" * 16),
        lambda: open_sealed(sealed, KEY, b"b" * 16),
        lambda: open_sealed(sealed, os.urandom(32), b"a" * 16),
    ):
        with pytest.raises(InvalidTag):
            attempt()


def test_the_same_content_seals_differently_each_time() -> None:
    assert seal(b"x", KEY, b"a" * 16) != seal(b"x", KEY, b"a" * 16)


def test_configured_keys_rotate_by_prepending_and_old_keys_still_open() -> None:
    old, new = new_key_spec("k1"), new_key_spec("k2")
    keys = ConfiguredKeys.parse(f"{new},{old}")
    assert keys.current()[0] == "k2"
    old_key = base64.urlsafe_b64decode(old.split(":")[1] + "=")
    assert keys.key("k1") == old_key
    with pytest.raises(UnknownKey):
        keys.key("k9")


@pytest.mark.parametrize("spec", ["", "k1", "k1:short", ":" + "A" * 43])
def test_a_bad_key_spec_is_refused_without_echoing_it(spec: str) -> None:
    with pytest.raises(ValueError) as error:
        ConfiguredKeys.parse(spec)
    assert "DSR_ARTIFACT_KEYS" in str(error.value)
    if spec.partition(":")[2]:
        assert spec.partition(":")[2] not in str(error.value)
