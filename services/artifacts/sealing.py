"""Encryption at rest with AES-256-GCM. Pure: bytes in, bytes out.

The artifact's id is bound in as associated data, so a ciphertext copied onto another artifact's
row does not decrypt. Keys come from a `KeyProvider`, so that a key management service can replace
the configured key without touching this code.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class KeyProvider(Protocol):
    """Where artifact keys come from: `current` seals, `key(key_id)` opens (old keys keep working)."""

    def current(self) -> tuple[str, bytes]: ...

    def key(self, key_id: str) -> bytes: ...


class UnknownKey(LookupError):
    pass


@dataclass(frozen=True)
class ConfiguredKeys:
    """Keys from configuration: `id:base64key` entries, the first one current (rotate by prepending)."""

    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, spec: str) -> ConfiguredKeys:
        keys = []
        for position, entry in enumerate(filter(None, (e.strip() for e in spec.split(","))), start=1):
            key_id, _, encoded = entry.partition(":")
            try:
                key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except ValueError:
                key = b""
            if not key_id or len(key) != 32:
                raise ValueError(f"DSR_ARTIFACT_KEYS entry {position}: expected id:base64 of 32 bytes")
            keys.append((key_id, key))
        if not keys:
            raise ValueError("DSR_ARTIFACT_KEYS: no key configured")
        return cls(tuple(keys))

    def current(self) -> tuple[str, bytes]:
        return self.keys[0]

    def key(self, key_id: str) -> bytes:
        for known, key in self.keys:
            if known == key_id:
                return key
        raise UnknownKey(f"no artifact key {key_id!r}")


def new_key_spec(key_id: str = "k1") -> str:
    return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip('=')}"


def seal(plaintext: bytes, key: bytes, artifact_id: bytes) -> bytes:
    """nonce || ciphertext-with-tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, artifact_id)


def open_sealed(sealed: bytes, key: bytes, artifact_id: bytes) -> bytes:
    """Raises `cryptography.exceptions.InvalidTag` if anything was changed."""
    return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], artifact_id)
