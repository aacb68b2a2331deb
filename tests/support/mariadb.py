"""The MariaDB server for tests (`services/launcher/mariadb.py`), and what a test does without one.

Without `mariadbd` the tests that need it are skipped, unless `CI` is set (`.ci/run` installs the
package): then a missing server fails the run instead of hiding what it would have found.
"""

from __future__ import annotations

import os

import pytest

from services.launcher.mariadb import INSTALL_HINT, MariaDBServer, mariadb_available

__all__ = ["MariaDBServer", "mariadb_available", "require_mariadb"]


def require_mariadb() -> None:
    """Skip (fail under CI) when Debian's MariaDB server is not installed."""
    if mariadb_available():
        return
    message = f"Debian's mariadb-server is not installed ({INSTALL_HINT}; .ci/run installs it)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI: {message}", pytrace=False)
    pytest.skip(message)
