"""`dsr bench engines` on a tiny scale: every engine's figures are there and plausible."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from services.bench.engines import EnginesPlan, filler_rows, run_engines_bench
from services.launcher.embedded_postgres import EmbeddedPostgres
from services.launcher.mariadb import mariadb_available


def test_filler_values_are_distinct_and_miss_the_sample_people() -> None:
    customers = filler_rows(0, 2_000)["customers"]
    for column in ("id", "customer_number", "national_id", "email", "phone"):
        values = {customer[column] for customer in customers}
        assert len(values) == len(customers), column
    assert not {"15076500565", "01017012345", "+4791234567", "+4798765432"} & {
        value for customer in customers for value in customer.values()
    }


def test_without_mariadb_the_bench_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("services.launcher.mariadb.mariadb_available", lambda: False)
    out = tmp_path / "out.txt"
    with out.open("w") as file:
        document = run_engines_bench(
            EnginesPlan(customers=10, requests=2, warmup=0, engines=("mariadb",)),
            console=Console(file=file, width=200),
        )
    assert document["engines"] == {
        "mariadb": {
            "engine": "mariadb",
            "skipped": "Debian's mariadb-server is not installed (apt-get install mariadb-server)",
        }
    }
    assert "mariadb: skipped" in out.read_text() and "apt-get install mariadb-server" in out.read_text()


@pytest.mark.timeout(30)
def test_a_small_engines_bench_times_every_engine(postgres: EmbeddedPostgres, tmp_path: Path) -> None:
    engines = ("postgresql", "sqlite", "http", *(("mariadb",) if mariadb_available() else ()))
    plan = EnginesPlan(customers=200, requests=30, warmup=5, engines=engines)
    output = tmp_path / "engines.json"
    with (tmp_path / "out.txt").open("w") as out:
        document = run_engines_bench(
            plan, console=Console(file=out, width=140), output=output, server_url=postgres.url()
        )
    assert json.loads(output.read_text()) == document
    assert set(document["engines"]) == set(engines)
    for engine, figures in document["engines"].items():
        for name in ("search", "locate"):
            timing = figures[name]
            assert timing["requests"] == 30, (engine, name)
            assert 0 < timing["p50_ms"] <= timing["p99_ms"] < 2_000, (engine, name, timing)
            assert timing["rows_per_request"] >= 1, (engine, name, timing)
        if engine != "http":
            # One statement per round; a filler customer's case and letter take two more rounds.
            assert figures["search"]["statements_per_request"] == 1, engine
            assert figures["locate"]["outcomes"] == {"Located": 30}, engine
            assert figures["locate"]["rounds_per_request"] == 3, engine
            assert figures["locate"]["statements_per_request"] == 3, engine
            assert figures["locate"]["rows_per_request"] == 3, engine
            assert figures["rows"] == 10 + 3 * 200
        else:
            assert figures["system"] == "marketing"
            assert figures["search"]["statements_per_request"] >= 4  # one call per resource at least
        assert (
            figures["target_p50_ms"]
            == {"postgresql": None, "sqlite": 2.0, "mariadb": 5.0, "http": 10.0}[engine]
        )
    text = (tmp_path / "out.txt").read_text()
    assert "locate" in text and "search" in text and "target" in text
