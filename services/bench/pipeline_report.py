"""How `dsr bench` shows its figures: tables in the terminal and an HTML page of SVG charts."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from services.bench.pipeline import BenchPlan


def print_phase(console: Console, figures: dict[str, Any]) -> None:
    title = (
        f"{figures['phase']} · {figures['workers']} worker(s) · {figures['requests']:,} requests · "
        f"intake {figures['intake_per_second']}/s · settled {figures['settled_per_second']}/s · "
        f"{figures['unsettled']} unsettled · {figures['http_errors']} HTTP errors"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("what (ms)")
    for column in ("count", "p50", "p95", "p99", "max"):
        table.add_column(column, justify="right")

    def row(label: str, p: dict[str, float]) -> None:
        table.add_row(
            label,
            *(
                f"{p.get(c, 0):,.1f}" if c != "count" else f"{p.get(c, 0):,}"
                for c in ("count", "p50", "p95", "p99", "max")
            ),
        )

    row("HTTP answer", figures["http_ms"])
    for label, p in figures["end_to_end_ms"].items():
        row(f"end to end: {label}", p)
    for label, p in figures["stages_ms"].items():
        row(f"stage: {label}", p)
    console.print(table)
    processes = Table(title_justify="left", title="processes during the phase")
    processes.add_column("process")
    processes.add_column("CPU s", justify="right")
    processes.add_column("CPU ms per request", justify="right")
    processes.add_column("peak RSS MB", justify="right")
    requests = max(1, figures["requests"])
    for name, p in figures["processes"].items():
        processes.add_row(
            name,
            f"{p['cpu_seconds']:.1f}",
            f"{p['cpu_seconds'] * 1000 / requests:.1f}",
            f"{p['peak_rss_mb']:.0f}",
        )
    total = sum(p["cpu_seconds"] for p in figures["processes"].values())
    processes.add_row("all", f"{total:.1f}", f"{total * 1000 / requests:.1f}", "")
    console.print(processes)
    console.print(
        f"ledger growth {figures['ledger_kb_per_request']} KB per request, of which artifacts "
        f"{figures['artifact_kb_per_request']} KB"
    )


def print_scaling(console: Console, results: list[dict[str, Any]]) -> None:
    table = Table(title="scaling (mixed phase)", title_justify="left")
    for column in ("workers per service", "intake/s", "settled/s", "access p50 ms", "access p99 ms"):
        table.add_column(column, justify="right")
    for figures in results:
        if figures["phase"] != "mixed":
            continue
        access = figures["end_to_end_ms"].get("access → completed", {})
        table.add_row(
            str(figures["workers"]),
            str(figures["intake_per_second"]),
            str(figures["settled_per_second"]),
            f"{access.get('p50', 0):,.0f}",
            f"{access.get('p99', 0):,.0f}",
        )
    console.print(table)


def _bars_svg(
    title: str, rows: list[tuple[str, list[float]]], series: list[str], unit: str, limit: float | None = None
) -> str:
    """Horizontal grouped bars, one group per row; a dashed line marks `limit` (a target)."""
    colours = ["#2f6fb0", "#e08a1e", "#b03a2f", "#4c9a4c"]
    top = max([v for _, values in rows for v in values] + [limit or 0, 1e-9])
    bar, gap, label_w, width = 9, 8, 260, 760
    height = 40 + len(rows) * (bar * len(series) + gap) + 30
    scale = (width - label_w - 80) / top
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>',
    ]
    y = 32
    for label, values in rows:
        out.append(f'<text x="0" y="{y + bar * len(series) / 2 + 4}" font-size="12">{escape(label)}</text>')
        for i, value in enumerate(values):
            w = max(1.0, value * scale)
            out.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar - 1}" fill="{colours[i % 4]}"/>'
            )
            out.append(
                f'<text x="{label_w + w + 4:.1f}" y="{y + bar - 1}" font-size="10">{value:,.1f} {unit}</text>'
            )
            y += bar
        y += gap
    if limit is not None:
        x = label_w + limit * scale
        out.append(f'<line x1="{x:.1f}" y1="26" x2="{x:.1f}" y2="{y}" stroke="#000" stroke-dasharray="4 3"/>')
        out.append(f'<text x="{x + 3:.1f}" y="{y + 12}" font-size="10">target {limit:g} {unit}</text>')
    legend_x = label_w
    for i, name in enumerate(series):
        out.append(f'<rect x="{legend_x}" y="{height - 14}" width="10" height="10" fill="{colours[i % 4]}"/>')
        out.append(f'<text x="{legend_x + 14}" y="{height - 5}" font-size="11">{escape(name)}</text>')
        legend_x += 90
    out.append("</svg>")
    return "\n".join(out)


def _timeline_svg(title: str, counts: list[int]) -> str:
    width, height, pad = 760, 200, 36
    top = max([*counts, 1])
    step = (width - 2 * pad) / max(1, len(counts))
    points = " ".join(
        f"{pad + i * step:.1f},{height - pad - c * (height - 2 * pad) / top:.1f}"
        for i, c in enumerate(counts)
    )
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
            f"<title>{escape(title)}</title>",
            f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>',
            f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#888"/>',
            f'<text x="0" y="{pad + 4}" font-size="10">{top}/s</text>',
            f'<text x="{width - pad - 40}" y="{height - pad + 16}" font-size="10">{len(counts)} s</text>',
            f'<polyline fill="none" stroke="#2f6fb0" stroke-width="2" points="{points}"/>',
            "</svg>",
        ]
    )


def render_chart(plan: BenchPlan, results: list[dict[str, Any]]) -> str:
    """One self-contained page (inline SVG, no script): latency per type, completions over time, memory."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>DSR pipeline benchmark</title>",
        "<style>body{font-family:sans-serif;margin:2rem;max-width:820px} svg{display:block;margin:1.5rem 0}</style>",
        f"</head><body><h1>DSR pipeline benchmark</h1><p>{plan.subjects:,} people in the demo systems; "
        f"steady phase {plan.steady_requests:,} access requests at {plan.steady_rate:g}/s; mixed phase "
        f"{plan.mixed_requests:,} requests as fast as the intake takes them.</p>",
    ]
    for figures in results:
        heading = f"{figures['phase']}, {figures['workers']} worker(s) per service"
        parts.append(
            f"<h2>{escape(heading)}</h2><p>intake {figures['intake_per_second']}/s, settled "
            f"{figures['settled_per_second']}/s, {figures['unsettled']} unsettled</p>"
        )
        rows = [
            (label, [p["p50"], p["p95"], p["p99"]])
            for label, p in figures["end_to_end_ms"].items()
            if p.get("count")
        ]
        limit = 250.0 if figures["phase"] == "steady" else None
        parts.append(
            _bars_svg("End to end, intake to settled (ms)", rows, ["p50", "p95", "p99"], "ms", limit)
        )
        parts.append(_timeline_svg("Requests settled per second", figures["completions_per_second"]))
        memory = [
            (name, [p["peak_rss_mb"]])
            for name, p in figures["processes"].items()
            if name not in ("postgresql", "broker")
        ]
        parts.append(_bars_svg("Peak RSS per service (MB)", memory, ["peak RSS"], "MB", 250.0))
    parts.append("</body></html>")
    return "\n".join(parts)
