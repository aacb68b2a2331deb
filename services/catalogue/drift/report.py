"""`dsr catalogue drift`'s output and exit code, from a check of every system. Pure.

Exit 1 when anything personal is undescribed (the case a DSR would silently leave data behind),
else 3 when a system that has a schema could not be reached (its drift is unknown), else 0
(HTTP and manual systems have no schema to compare: listed, never failing the run).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.catalogue.drift.findings import CheckOutcome, SystemCheck

PERSONAL_UNDESCRIBED = 1
UNREACHABLE = 3


def exit_code(checks: Sequence[SystemCheck]) -> int:
    if any(check.personal for check in checks):
        return PERSONAL_UNDESCRIBED
    if any(check.outcome is CheckOutcome.unreachable for check in checks):
        return UNREACHABLE
    return 0


def lines(checks: Sequence[SystemCheck]) -> list[str]:
    """One line per system, then one per finding (personal first), then a summary."""
    out: list[str] = []
    for check in checks:
        if check.outcome is CheckOutcome.not_checkable:
            out.append(f"{check.system}: not checkable ({check.reason}: no schema to read)")
            continue
        if check.outcome is CheckOutcome.unreachable:
            out.append(f"{check.system}: UNREACHABLE ({check.reason}): drift unknown")
            continue
        if not check.findings:
            out.append(f"{check.system}: matches the catalogue")
        else:
            personal = sum(1 for f in check.findings if f.personal)
            out.append(
                f"{check.system}: {len(check.findings)} finding(s), {personal} personal; "
                f"{check.undescribed_columns} undescribed column(s)"
            )
        for finding in sorted(check.findings, key=lambda f: not f.personal):
            mark = "PERSONAL " if finding.personal else ""
            out.append(f"  {mark}{finding.kind.value} {finding.where}: {finding.message()}")
        for where in check.unsampled:
            out.append(f"  note: {check.system}.{where} could not be sampled (the role may not read it)")
    checked = [c for c in checks if c.outcome is CheckOutcome.checked]
    personal = sum(1 for c in checks for f in c.findings if f.personal)
    total = sum(len(c.findings) for c in checks)
    unreachable = sum(1 for c in checks if c.outcome is CheckOutcome.unreachable)
    out.append(
        f"{len(checked)} system(s) checked, {unreachable} unreachable: {total} finding(s), "
        f"{personal} with personal data the catalogue does not describe"
    )
    return out


def as_json(checks: Sequence[SystemCheck]) -> dict[str, Any]:
    return {
        "systems": [
            {
                "system": check.system,
                "outcome": check.outcome.value,
                "reason": check.reason,
                "undescribed_columns": check.undescribed_columns,
                "undescribed_personal": check.undescribed_personal,
                "unsampled": list(check.unsampled),
                "findings": [
                    {
                        "identity": f.identity,
                        "kind": f.kind.value,
                        "table": f.table,
                        "column": f.column,
                        "personal": f.personal,
                        "message": f.message(),
                        "detail": dict(f.detail),
                    }
                    for f in check.findings
                ],
            }
            for check in checks
        ],
        "exit_code": exit_code(checks),
    }
