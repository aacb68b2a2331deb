"""`dsr bench` on a tiny scale: every phase settles, the figures and the chart are written."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from rich.console import Console

from services.bench.pipeline import MIX, BenchPlan, mixed_types, run_bench


def test_the_mix_follows_its_weights_and_can_be_narrowed() -> None:
    drawn = Counter(mixed_types(20_000, seed=1))
    assert set(drawn) == set(MIX)
    assert abs(drawn["access"] / 20_000 - MIX["access"]) < 0.02
    assert set(mixed_types(500, seed=1, only=("marketing_opt_out",))) == {"marketing_opt_out"}
    with pytest.raises(ValueError, match="objection"):
        mixed_types(1, seed=1, only=("objection",))


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_small_bench_settles_every_request_and_writes_its_figures(tmp_path: Path) -> None:
    plan = BenchPlan(subjects=400, steady_requests=30, steady_rate=15, mixed_requests=60, settle_timeout=90)
    output = tmp_path / "pipeline.json"
    results = run_bench(plan, output=output, console=Console(file=(tmp_path / "out.txt").open("w")))
    assert [r["phase"] for r in results] == ["steady", "mixed"]
    for phase in results:
        assert phase["http_errors"] == 0 and phase["unsettled"] == 0, phase
        assert sum(phase["outcomes"].values()) == phase["requests"]
        assert set(phase["processes"]) >= {
            "intake",
            "locator",
            "fulfilment",
            "tracker",
            "notifier",
            "postgresql",
        }
    steady = results[0]["end_to_end_ms"]
    assert sum(p["count"] for kind, p in steady.items() if kind.startswith("access")) == 30
    written = json.loads(output.read_text())
    assert written["plan"]["subjects"] == 400 and len(written["phases"]) == 2
    assert "<svg" in output.with_suffix(".html").read_text()
    caught = re.search(r"caught ([\d,]+) notices", (tmp_path / "out.txt").read_text())
    assert caught and int(caught[1].replace(",", "")) > 0  # the notifier really mailed
