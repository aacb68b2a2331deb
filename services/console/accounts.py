"""Named console accounts from configuration, with Argon2id password hashes.

`DSR_CONSOLE_ACCOUNTS` is `name:role:hash,...`. An Argon2 hash itself holds commas
(`m=65536,t=3,p=4`), so entries are told apart by their `name:role:$argon2` start, not by commas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class ConsoleRole(StrEnum):
    agent = "agent"
    dpo = "dpo"  # the data protection officer: special categories, objections, approvals
    ops = "ops"  # operations: the SLA page


@dataclass(frozen=True)
class Account:
    name: str
    role: ConsoleRole
    password_hash: str


class AccountConfigError(ValueError):
    pass


_ENTRY_START = re.compile(r"^[A-Za-z0-9._-]{1,64}:[a-z]+:\$argon2")
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def parse_accounts(spec: str) -> dict[str, Account]:
    """Parse the configuration; errors name the entry by position and name only (never the hash)."""
    entries: list[str] = []
    for piece in (p.strip() for p in spec.split(",")):
        if not piece:
            continue
        if _ENTRY_START.match(piece) or not entries:
            entries.append(piece)
        else:
            entries[-1] += "," + piece
    accounts: dict[str, Account] = {}
    for position, entry in enumerate(entries, start=1):
        parts = entry.split(":", 2)
        if len(parts) != 3 or not _NAME.match(parts[0]):
            raise AccountConfigError(f"DSR_CONSOLE_ACCOUNTS entry {position}: expected name:role:argon2-hash")
        name, role, password_hash = parts
        if role not in ConsoleRole.__members__:
            raise AccountConfigError(
                f"DSR_CONSOLE_ACCOUNTS entry {position} ({name}): role must be one of {', '.join(ConsoleRole)}"
            )
        if not password_hash.startswith("$argon2"):
            raise AccountConfigError(f"DSR_CONSOLE_ACCOUNTS entry {position} ({name}): not an Argon2 hash")
        if name in accounts:
            raise AccountConfigError(f"DSR_CONSOLE_ACCOUNTS entry {position} ({name}): name used twice")
        accounts[name] = Account(name, ConsoleRole(role), password_hash)
    return accounts


_hasher = PasswordHasher()  # Argon2id, RFC 9106's second recommended parameters (64 MiB, t=3)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _decoy() -> str:
    return _hasher.hash("a password nobody has")


def check_password(account: Account | None, password: str) -> bool:
    """True when the password is the account's; an unknown account costs the same time."""
    try:
        return (
            _hasher.verify(account.password_hash if account else _decoy(), password) and account is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
