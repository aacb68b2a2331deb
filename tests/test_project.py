"""The README stays true: its commands are the ones CI runs, its tables name every setting and topic."""

import re
from pathlib import Path

from schemas.registry import TOPICS
from services.runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_test_one() -> None:
    commands = _quick_start_commands()
    assert len(commands) == 2
    run, test = commands
    assert "dsr up --demo" in run
    assert test in (ROOT / ".ci" / "run").read_text().splitlines()


def test_every_setting_is_documented_with_its_default() -> None:
    for name, field in Settings.model_fields.items():
        row = next(
            (line for line in README.splitlines() if line.startswith(f"| `DSR_{name.upper()}` |")), None
        )
        assert row is not None, f"DSR_{name.upper()} missing from the README's configuration table"
        default = field.default
        if default not in (None, ""):
            assert str(default) in row, f"README gives the wrong default for DSR_{name.upper()}"


def test_every_topic_is_in_the_topic_map() -> None:
    for name, spec in TOPICS.items():
        row = next((line for line in README.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"{name} missing from the README's topic map"
        for event_type in spec.event_types:
            assert f"`{event_type}`" in row
