// What the page shows, as a shareable URL: the view, the filters, the time range, the metrics
// chart and the records-around view. Parameters the page does not own (`tail`) are kept.
import { COLUMN_FILTERS } from "./filters.js";

const SINGLE = ["q", "level", "min_level", ...COLUMN_FILTERS];
/** The page's tabs; other views (view=reports) keep their own state in the URL. */
const VIEWS = ["live", "history", "trades"];
export const METRIC_DEFAULTS = { fn: "count", field: "", by: "", interval: "" };
export const FUNCTIONS = ["count", "sum", "avg", "min", "max", "p50", "p90", "p95", "p99"];
export const INTERVALS = ["1m", "5m", "15m", "1h", "1d"];
const OWNED = [...SINGLE, "service", "where", "start", "end", "fn", "field", "by", "interval", "metrics", "around", "around_s", "record"];

/** The page state in a URL query string. */
export function readState(search) {
  const params = new URLSearchParams(search);
  const filters = { level: "", min_level: "", services: params.getAll("service"), q: "", where: params.getAll("where") };
  for (const name of SINGLE) filters[name] = params.get(name) ?? "";
  const seconds = Number(params.get("around_s"));
  return {
    view: VIEWS.includes(params.get("view")) ? params.get("view") : "live",
    filters,
    range: { start: params.get("start") ?? "", end: params.get("end") ?? "" },
    metrics: params.get("metrics") === "1"
      ? {
          fn: FUNCTIONS.includes(params.get("fn")) ? params.get("fn") : "count",
          field: params.get("field") ?? "",
          by: params.get("by") ?? "",
          interval: INTERVALS.includes(params.get("interval")) ? params.get("interval") : "",
        }
      : null,
    around: params.get("around") ?? "",
    aroundSeconds: Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 3600) : 60,
    record: params.get("record") ?? "",
  };
}

/** The query string for a state, keeping the parameters of `current` the page does not own. */
export function writeState(state, current = "") {
  const params = new URLSearchParams(current);
  for (const name of OWNED) params.delete(name);
  // `view` is shared with other views that keep their state in the URL (view=reports): the
  // page's own tab is written only when no other view holds it.
  const view = params.get("view");
  if (view === null || VIEWS.includes(view)) {
    params.delete("view");
    if (state.view !== "live") params.set("view", state.view);
  }
  const f = state.filters;
  for (const name of SINGLE) if (f[name] && String(f[name]).trim()) params.set(name, String(f[name]).trim());
  for (const service of f.services ?? []) params.append("service", service);
  for (const expression of f.where ?? []) params.append("where", expression);
  if (state.range.start) params.set("start", state.range.start);
  if (state.range.end) params.set("end", state.range.end);
  if (state.metrics) {
    params.set("metrics", "1");
    for (const name of ["fn", "field", "by", "interval"]) if (state.metrics[name]) params.set(name, state.metrics[name]);
  }
  if (state.around) {
    params.set("around", state.around);
    params.set("around_s", String(state.aroundSeconds));
  }
  if (state.record) params.set("record", state.record);
  const text = params.toString();
  return text ? "?" + text : "";
}

/** Presets of the history's time range: label and how far back from now. */
export const PRESETS = [
  ["15m", "15 min"],
  ["1h", "1 hour"],
  ["6h", "6 hours"],
  ["24h", "24 hours"],
  ["7d", "7 days"],
];

/** A range as absolute instants (ms): relative starts (`1h`) count back from `now`. */
export function resolveRange(range, now = Date.now()) {
  const at = (text, fallback) => {
    if (!text) return fallback;
    const m = /^(\d+)([smhdw])$/.exec(text);
    if (m) return now - Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8 }[m[2]];
    const t = Date.parse(text);
    return Number.isFinite(t) ? t : fallback;
  };
  const end = at(range.end, now);
  const start = at(range.start, end - 3.6e6);
  return { start: Math.min(start, end - 1000), end };
}

/** A bucket width that gives a histogram of at most 200 bars over a range. */
export function intervalFor(span) {
  const widths = [["1m", 6e4], ["5m", 3e5], ["15m", 9e5], ["1h", 3.6e6], ["1d", 8.64e7]];
  return (widths.find(([, ms]) => span / ms <= 200) ?? widths[widths.length - 1])[0];
}
