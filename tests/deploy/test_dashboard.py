"""The Grafana dashboard and the alert rules query only metrics the services really export.

The exported names come from what `/metrics` serves: every service's metric module is imported and
`prometheus_client.REGISTRY` is rendered with `generate_latest()`, the same text the endpoint returns.
Metrics that are planned but not exported yet are allowed by name, with a warning; any other
unknown name fails the test.
"""

from __future__ import annotations

import importlib
import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "dsr.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"

# Metrics a dashboard or rule may name before a service exports them (none at the moment).
NOT_EXPORTED_YET: dict[str, str] = {}
# Series Prometheus itself makes for every target.
PROMETHEUS_BUILTIN = {"up", "scrape_duration_seconds", "scrape_samples_scraped", "ALERTS", "ALERTS_FOR_STATE"}

_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "unknown": ("",),
}
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or"}
_KEYWORDS |= {"unless", "offset", "atan2", "inf", "nan", "start", "end"}


def exported_metric_names() -> set[str]:
    """Every sample name /metrics can serve, from the services' metric modules."""
    for module in sorted((ROOT / "services").glob("*/metrics.py")):
        importlib.import_module(f"services.{module.parent.name}.metrics")
    text = generate_latest(REGISTRY).decode()
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(family.name + suffix for suffix in _SUFFIXES[family.type])
        names.update(sample.name for sample in family.samples)
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords and labels left out)."""
    text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\$\{[^}]*\}|\$\w+", " ", text)  # Grafana variables
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


def _panels(panels: list[dict]) -> Iterator[dict]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def dashboard_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [
        (panel["title"], target["expr"])
        for panel in _panels(dashboard["panels"])
        for target in panel.get("targets", [])
        if target.get("expr")
    ]
    queries += [
        (f"variable {var['name']}", str(var.get("query", "")))
        for var in dashboard.get("templating", {}).get("list", [])
        if var.get("type") == "query"
    ]
    return queries


def alert_queries() -> list[tuple[str, str]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [
        (rule.get("alert") or rule["record"], rule["expr"]) for group in groups for rule in group["rules"]
    ]


def _check(queries: list[tuple[str, str]]) -> None:
    known = exported_metric_names() | PROMETHEUS_BUILTIN
    unknown, pending = [], set()
    for where, expr in queries:
        for name in metric_names(expr):
            if name in known:
                continue
            if name in NOT_EXPORTED_YET:
                pending.add(name)
            else:
                unknown.append(f"{where}: {name} (in {expr})")
    for name in sorted(pending):
        message = f"{name} is queried but not exported yet: {NOT_EXPORTED_YET[name]}"
        print(f"WARNING: {message}")
        warnings.warn(message, stacklevel=2)
    assert not unknown, "queries name metrics no service exports:\n" + "\n".join(unknown)


def test_the_metric_name_extraction_finds_metrics_and_only_metrics() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, consumer) (rate(dsr_event_handler_seconds_bucket{consumer!="x"}'
        "[$__rate_interval]))) > on (consumer) group_left max without (le) (other_metric offset 5m) "
        'or up{job="dsr"} == bool 0 unless count(label_replace(a:b:rule, "dst", "$1", "src", "(.*)"))'
    )
    assert metric_names(expr) == {"dsr_event_handler_seconds_bucket", "other_metric", "up", "a:b:rule"}


def test_exported_names_include_every_kind_of_metric() -> None:
    names = exported_metric_names()
    # a labelled counter, a gauge, a histogram, a label-less counter
    assert {"dsr_dead_letters_total", "dsr_requests_overdue", "dsr_event_handler_seconds_bucket"} <= names
    assert "dsr_redrives_total" in names


def test_every_dashboard_query_names_exported_metrics() -> None:
    queries = dashboard_queries()
    assert len(queries) >= 20
    _check(queries)


def test_every_alert_rule_names_exported_metrics() -> None:
    queries = alert_queries()
    assert {name for name, _ in queries} >= {
        "DsrRequestsOverdue",
        "DsrRequestsAtRisk",
        "DsrDeadLettersGrowing",
        "DsrStuckRequestsRedriven",
        "DsrConnectorDown",
        "DsrOutboxLag",
        "DsrServiceDown",
        "DsrErasureWaitingForSystem",
        "DsrManualErasureOverdue",
        "DsrErasureRescanFailed",
        "DsrErasureOverdue",
    }
    _check(queries)


def test_an_unknown_metric_in_a_query_fails_the_check() -> None:
    with pytest.raises(AssertionError, match="dsr_requests_overdue_typo"):
        _check([("a panel", "max(dsr_requests_overdue_typo) > 0")])


def test_the_dashboard_has_a_panel_for_every_exported_dsr_metric() -> None:
    queried = set().union(*(metric_names(expr) for _, expr in dashboard_queries()))
    families = {re.sub(r"_(total|bucket|sum|count|created)$", "", name) for name in exported_metric_names()}
    families = {name for name in families if name.startswith("dsr_")}
    missing = {
        family
        for family in families
        if not any(re.sub(r"_(total|bucket|sum|count)$", "", name) == family for name in queried)
    }
    assert not missing, f"no dashboard panel queries {sorted(missing)}"
