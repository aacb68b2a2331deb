"""The tracker's Prometheus metrics: low cardinality, no ids, references or personal data.

Durations are in seconds (the base unit; the dashboard shows days through the panel's unit). The
SLA transitions' label sets are exported at 0 on import."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OPEN = Gauge("dsr_requests_open", "Open requests", ["status", "type", "channel"])
OPEN_BY_DAYS_LEFT = Gauge(
    "dsr_requests_open_by_days_left", "Open requests by days left to the due date", ["bucket"]
)
AT_RISK = Gauge("dsr_requests_at_risk", "Open requests with few days left")
OVERDUE = Gauge("dsr_requests_overdue", "Open requests past their due date")
SLA_TRANSITIONS = Counter("dsr_sla_transitions_total", "Requests that became at risk or overdue", ["state"])
REDRIVES = Counter("dsr_redrives_total", "Stuck requests driven on by re-publishing their last event")
DAY = 86400.0
TIME_TO_COMPLETE = Histogram(
    "dsr_request_time_to_complete_seconds",
    "Seconds from receipt to a final status",
    ["type", "channel"],
    buckets=tuple(days * DAY for days in (0.01, 0.1, 0.5, 1, 2, 5, 10, 15, 20, 25, 30, 45, 60, 90)),
)

for _state in ("at_risk", "overdue"):
    SLA_TRANSITIONS.labels(_state)

# The catalogue's drift check (`services/tracker/drift.py`): gauges read from the ledger (the same in
# every worker: aggregate with `max`), one series per catalogued system from start-up.
UNDESCRIBED_COLUMNS = Gauge(
    "dsr_catalogue_undescribed_columns",
    "Live columns the catalogue does not describe (in catalogued tables and in tables it does not name)",
    ["system"],
)
UNDESCRIBED_PERSONAL = Gauge(
    "dsr_catalogue_undescribed_personal_columns",
    "Of the undescribed columns, and the columns catalogued as non-personal, those that look personal",
    ["system"],
)
DRIFT_FINDINGS = Gauge("dsr_catalogue_drift_findings", "Open drift findings by kind", ["system", "kind"])
DRIFT_CHECKS = Counter(
    "dsr_catalogue_drift_checks_total",
    "Drift checks of a system by outcome (checked, unreachable, not_checkable)",
    ["system", "outcome"],
)
DRIFT_LAST_CHECK = Gauge(
    "dsr_catalogue_drift_last_check_timestamp_seconds", "When the last drift check of every system finished"
)
