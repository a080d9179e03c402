"""An hourly report as people read it: Markdown for the blob beside the JSON, and a short
summary for the notification channels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TOP_SERVICES = 10
MESSAGE_CHARS = 160


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int | float) else "-"


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell: one line, no pipes, no markup."""
    flat = " ".join(str(text).split())[:MESSAGE_CHARS]
    for ch in "\\|*_`[]<>#":
        flat = flat.replace(ch, "\\" + ch)
    return flat


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def render(report: dict[str, Any]) -> str:
    """The report as a Markdown document."""
    total, errors = report.get("total", 0), report.get("errors", 0)
    rate = f"{100 * errors / total:.2f} %" if total else "-"
    out = [
        f"# Hourly report {report['period_start']} to {report['period_end']}",
        "",
        f"- Records: {_n(total)}",
        f"- Errors and above: {_n(errors)} ({rate})",
        f"- Alerts opened: {_n(report.get('alerts_opened'))}, "
        f"active at the end: {_n(report.get('alerts_active'))}",
        "",
    ]
    by_service_level = report.get("by_service_level") or {}
    if by_service_level:
        level_names = sorted({lvl for counts in by_service_level.values() for lvl in counts})
        busiest = sorted(by_service_level, key=lambda s: -sum(by_service_level[s].values()))
        out += ["## Volume by service and level", ""]
        out += _table(
            ["service", *level_names],
            [
                [s, *(_n(by_service_level[s].get(lvl, 0)) for lvl in level_names)]
                for s in busiest[:TOP_SERVICES]
            ],
        )
    if report.get("top_errors"):
        out += ["## Top errors", ""]
        out += _table(
            ["service", "message", "count"],
            [[e["service"], e["message"], _n(e["count"])] for e in report["top_errors"]],
        )
    if report.get("response_times"):
        out += ["## Response time (ms)", ""]
        out += _table(
            ["service", "records", "avg", "p50", "p95", "max"],
            [
                [
                    s,
                    _n(t["count"]),
                    _n(t["avg_ms"]),
                    _n(t.get("p50_ms")),
                    _n(t["p95_ms"]),
                    _n(t["max_ms"]),
                ]
                for s, t in report["response_times"].items()
            ],
        )
    if report.get("trades"):
        out += ["## Trades", ""]
        out += _table(
            ["service", "symbol", "executed", "blocked"],
            [
                [t["service"], t["symbol"] or "-", _n(t["executed"]), _n(t["blocked"])]
                for t in report["trades"]
            ],
        )
    if report.get("new_alerts"):
        out += ["## Alerts opened", ""]
        out += _table(
            ["rule", "service", "severity", "count", "first seen"],
            [
                [a["rule"], a["service"], a["severity"], _n(a["count"]), a["first_seen"]]
                for a in report["new_alerts"]
            ],
        )
    if report.get("resolved_alerts"):
        out += ["## Alerts resolved", ""]
        out += _table(
            ["rule", "service", "severity", "resolved at"],
            [
                [a["rule"], a["service"], a["severity"], a.get("resolved_at")]
                for a in report["resolved_alerts"]
            ],
        )
    return "\n".join(out)


@dataclass(frozen=True, slots=True)
class Summary:
    """A report as a notification: the document for webhooks, a few lines for chats."""

    report: dict[str, Any]

    def document(self) -> dict[str, Any]:
        return {"type": "report", "report": self.report}

    def text(self) -> str:
        r = self.report
        lines = [
            f"Hourly report {r['period_start']}: {_n(r.get('total'))} records, "
            f"{_n(r.get('errors'))} errors, {_n(r.get('alerts_opened'))} alerts opened"
        ]
        trades = r.get("trades") or []
        if trades:
            executed = sum(t["executed"] for t in trades)
            blocked = sum(t["blocked"] for t in trades)
            lines.append(f"Trades: {executed:,} executed, {blocked:,} blocked")
        for e in (r.get("top_errors") or [])[:3]:
            message = " ".join(str(e["message"]).split())[:100]
            lines.append(f"- {e['service']}: {message} x{e['count']}")
        return "\n".join(lines)
