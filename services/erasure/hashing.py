"""Keyed hashes: how the erasure ledger and the suppression list remember a person without
holding their data in clear. The key comes from configuration (`DSR_ERASURE_HASH_KEY`)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any


def keyed_hash(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def fingerprint(key: bytes, values: Mapping[str, Any]) -> str:
    """One hash over a row's identifying values: tells the same row apart from a reused key."""
    canonical = json.dumps({k: None if v is None else str(v) for k, v in sorted(values.items())})
    return keyed_hash(key, canonical)


def pseudonym(key: bytes, system: str, table: str, record_key: Mapping[str, str], column: str) -> str:
    """The value an anonymised column gets: fixed per row and column, so anonymising twice
    changes nothing, and unrelated to the person."""
    digest = keyed_hash(key, json.dumps([system, table, sorted(record_key.items()), column]))
    return f"anon-{digest[:20]}"
