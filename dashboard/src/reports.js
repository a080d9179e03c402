// Reports as the page shows them: figures with their changes against earlier hours, trades
// summed per symbol, and the links from a top error to the matching search.

import { LEVELS } from "./levels.js";

const EN = "en-US";
const LEVEL_NO = new Map(LEVELS);

export const FIGURES = [
  ["total", "Records"],
  ["errors", "Errors"],
  ["trades_executed", "Trades executed"],
  ["risk_alerts", "Risk alerts"],
  ["alerts_opened", "Alerts opened"],
];

export function number(n) {
  return typeof n === "number" && Number.isFinite(n) ? n.toLocaleString(EN, { maximumFractionDigits: 1 }) : "\u2013";
}

/** A signed difference with its percentage, e.g. "+12 (+40 %)"; "" when there is nothing to compare. */
export function delta(value, before) {
  if (typeof value !== "number" || typeof before !== "number") return "";
  const diff = value - before;
  const sign = diff > 0 ? "+" : diff < 0 ? "\u2212" : "\u00b1";
  const pct = before === 0 ? "" : ` (${sign}${Math.abs(Math.round((100 * diff) / before))} %)`;
  return `${sign}${number(Math.abs(diff))}${pct}`;
}

/** One figure of `changes` ({value, previous_hour, same_hour_yesterday, range_24h, unusual}) for display. */
export function figure(change) {
  const c = change && typeof change === "object" ? change : {};
  return {
    value: number(c.value),
    previous: delta(c.value, c.previous_hour),
    yesterday: delta(c.value, c.same_hour_yesterday),
    range: Array.isArray(c.range_24h) ? `${number(c.range_24h[0])}\u2013${number(c.range_24h[1])}` : "",
    unusual: c.unusual === true,
  };
}

/** The report's figures in display order, each with its change (when the report carries one). */
export function figures(report) {
  const changes = report?.changes ?? {};
  const fromReport = {
    total: report?.total,
    errors: report?.errors,
    alerts_opened: report?.alerts_opened,
    trades_executed: report?.by_level?.TRADE_EXECUTED ?? 0,
    risk_alerts: report?.by_level?.RISK_ALERT ?? 0,
  };
  return FIGURES.map(([name, label]) => ({
    name,
    label,
    ...figure(changes[name] ?? { value: fromReport[name] }),
  }));
}

/** Trades summed over services, per symbol, busiest first. */
export function tradesBySymbol(trades) {
  const sums = new Map();
  for (const t of Array.isArray(trades) ? trades : []) {
    const key = t.symbol || "\u2013";
    const row = sums.get(key) ?? { symbol: key, executed: 0, blocked: 0 };
    row.executed += Number(t.executed) || 0;
    row.blocked += Number(t.blocked) || 0;
    sums.set(key, row);
  }
  return [...sums.values()].sort((a, b) => b.executed + b.blocked - (a.executed + a.blocked) || a.symbol.localeCompare(b.symbol));
}

/** Volume rows: one per service, its count per level and its change against earlier hours. */
export function volumeRows(report) {
  const bySL = report?.by_service_level ?? {};
  const levels = [...new Set(Object.values(bySL).flatMap((c) => Object.keys(c)))].sort(
    (a, b) => (LEVEL_NO.get(a) ?? 0) - (LEVEL_NO.get(b) ?? 0) || a.localeCompare(b),
  );
  const rows = Object.entries(bySL)
    .map(([service, counts]) => ({
      service,
      counts: levels.map((l) => counts[l] ?? 0),
      total: Object.values(counts).reduce((a, b) => a + b, 0),
      change: figure(report?.changes?.by_service?.[service]),
    }))
    .sort((a, b) => b.total - a.total);
  return { levels, rows };
}

/** The search filters that find a top error's records: its service, its message, its report's hour. */
export function errorSearch(report, error) {
  return {
    q: String(error.message ?? "").slice(0, 200),
    services: error.service ? [error.service] : [],
    level: "",
    min_level: "ERROR",
    request_id: "",
    start: report.period_start ?? report.hour ?? "",
    end: report.period_end ?? "",
  };
}

/** The label of a report in the list: "14:00" (with the date when it is not today). */
export function hourLabel(iso, now = new Date()) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso ?? "");
  const time = d.toISOString().slice(11, 16);
  return d.toISOString().slice(0, 10) === now.toISOString().slice(0, 10) ? time : `${d.toISOString().slice(5, 10)} ${time}`;
}
