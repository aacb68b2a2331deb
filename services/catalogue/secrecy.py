"""Finds secrets written into a catalogue file: it names where credentials live, never holds them."""

from __future__ import annotations

import re
from collections.abc import Iterator

from services.catalogue.problems import Path

_CREDENTIAL_URL = re.compile(r"[a-z][a-z0-9+.\-]*://[^\s/@:]*:[^\s/@]+@", re.IGNORECASE)
_KEY_VALUE_PASSWORD = re.compile(r"\b(password|passwd|pwd)\s*=", re.IGNORECASE)
_SECRET_KEYS = frozenset({"password", "passwd", "secret", "token", "api_key", "apikey", "dsn", "url"})


def find_secrets(document: object, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """(path, message) for every value that looks like a credential, anywhere in the document."""
    if isinstance(document, dict):
        for key, value in document.items():
            at = (*path, str(key))
            if str(key).lower() in _SECRET_KEYS and isinstance(value, str) and value:
                yield at, _message("a connection string or secret")
            else:
                yield from find_secrets(value, at)
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from find_secrets(value, (*path, index))
    elif isinstance(document, str) and (
        _CREDENTIAL_URL.search(document) or _KEY_VALUE_PASSWORD.search(document)
    ):
        yield path, _message("a connection string with a password")


def _message(what: str) -> str:
    return (
        f"looks like {what}: the catalogue must not hold secrets; name the environment variable "
        "that holds the DSN (connection.env) or a database on the pipeline's server (connection.database)"
    )
