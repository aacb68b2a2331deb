"""`dsr up`'s generated API keys: one per role, kept across restarts; a data directory made before the
`dpo` role existed gets a key for it added, the keys it had unchanged. No key takes a name the
pipeline records its own work under."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.api.auth import RESERVED_NAMES, KeyConfigError, parse_keys
from services.authority import Role
from services.launcher.credentials import LOCAL_API_ROLES, api_keys


def test_one_key_per_role_kept_across_restarts(tmp_path: Path) -> None:
    first = api_keys(tmp_path)
    assert {key.role for key in parse_keys(first)} == set(Role) == {Role(r) for r in LOCAL_API_ROLES}
    assert api_keys(tmp_path) == first
    assert (tmp_path / "api-keys").stat().st_mode & 0o077 == 0


def test_an_older_data_directory_gets_the_missing_dpo_key(tmp_path: Path) -> None:
    old = "local-system:system:" + "s" * 32 + ",local-agent:agent:" + "a" * 32 + ",local-ops:ops:" + "o" * 32
    (tmp_path / "api-keys").write_text(old + "\n")
    keys = api_keys(tmp_path)
    assert keys.startswith(old + ",local-dpo:dpo:")
    assert [key.role for key in parse_keys(keys)] == [Role.system, Role.agent, Role.ops, Role.dpo]
    assert api_keys(tmp_path) == keys


def test_a_key_cannot_take_the_name_the_pipeline_records_its_own_work_under() -> None:
    """A system key owns the requests recorded under its name: one named like the web form would
    own every anonymous web-form request."""
    for name in sorted(RESERVED_NAMES):
        with pytest.raises(
            KeyConfigError, match=f"entry 1 \\({name}\\): the name is the pipeline's own actor"
        ):
            parse_keys(f"{name}:system:" + "x" * 20)
