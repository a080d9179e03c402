// The views for questions about fields: the history's time range and histogram, the field
// sidebar, the metrics chart, the records around one, filtering by a clicked value, and the
// URL that makes every view shareable.
import { computed, ref, shallowRef, watch } from "vue";
import { emptyFilters, whereEquals } from "./filters.js";
import { METRIC_DEFAULTS, intervalFor, resolveRange, writeState } from "./urlstate.js";

export function useFieldViews({ api, initial, filters, mode, selected, signedIn, notice, changeFilters, loadHistory, searchPages }) {
  const range = ref(initial.range);
  const metrics = ref(initial.metrics);
  const histogram = shallowRef({ points: [], start: 0, end: 0, interval: "1m" });
  const histogramLoading = ref(false);
  const fieldList = shallowRef([]);
  const fieldsSampled = ref(false);
  const fieldsError = ref("");
  const fieldsLoading = ref(false);
  const metricsResult = shallowRef(null);
  const metricsError = ref("");
  const metricsSpan = ref({ start: 0, end: 0 });
  const aroundOf = shallowRef(null);
  const aroundSeconds = ref(initial.aroundSeconds);
  const aroundRecords = shallowRef([]);
  const aroundLoading = ref(false);
  let rangeGeneration = 0;

  const iso = (ms) => new Date(ms).toISOString();
  /** The range as search parameters: relative (`1h`) or absolute text, as the API takes it. */
  function rangeParams() {
    return { start: range.value.start || undefined, end: range.value.end || undefined };
  }
  /** The range as instants for charts; without a chosen range, the last 24 hours. */
  function chartSpan() {
    return resolveRange({ start: range.value.start || "24h", end: range.value.end });
  }

  async function loadRangeViews() {
    const generation = ++rangeGeneration;
    const span = chartSpan();
    const interval = intervalFor(span.end - span.start);
    histogramLoading.value = true;
    fieldsLoading.value = true;
    const bounds = { start: iso(span.start), end: iso(span.end) };
    const [counts, found] = await Promise.allSettled([
      api.aggregate(filters.value, { ...bounds, interval }),
      api.fields(filters.value, rangeParams()),
    ]);
    if (generation !== rangeGeneration) return;
    histogramLoading.value = false;
    fieldsLoading.value = false;
    histogram.value = {
      points: counts.status === "fulfilled" ? (counts.value.series[0]?.points ?? []) : [],
      start: span.start,
      end: span.end,
      interval,
    };
    if (found.status === "fulfilled") {
      fieldList.value = found.value.fields ?? [];
      fieldsSampled.value = Boolean(found.value.sampled);
      fieldsError.value = "";
    } else {
      fieldList.value = [];
      fieldsError.value = "Fields unavailable: " + found.reason.message;
    }
  }

  function changeRange(next) {
    range.value = next;
    if (mode.value === "history") {
      loadHistory(true);
      loadRangeViews();
    }
    loadMetrics();
  }

  async function loadMetrics() {
    const m = metrics.value;
    if (!m) return;
    const span = chartSpan();
    if (m.fn !== "count" && !m.field) {
      metricsResult.value = null;
      metricsError.value = `Choose a numeric field for ${m.fn}.`;
      return;
    }
    const extra = {
      fn: m.fn,
      field: m.field || undefined,
      by: m.by || undefined,
      interval: m.interval || intervalFor(span.end - span.start),
      start: iso(span.start),
      end: iso(span.end),
    };
    try {
      const result = await api.aggregate(filters.value, extra);
      if (metrics.value !== m) return;
      metricsResult.value = result;
      metricsSpan.value = span;
      metricsError.value = "";
    } catch (err) {
      if (metrics.value === m) metricsError.value = err.message;
    }
  }

  function changeMetrics(next) {
    metrics.value = next;
    loadMetrics();
  }

  function toggleMetrics() {
    metrics.value = metrics.value ? null : { ...METRIC_DEFAULTS };
    loadMetrics();
  }

  function chartField(path) {
    changeMetrics({ ...(metrics.value ?? METRIC_DEFAULTS), fn: "p95", field: path, by: metrics.value?.by || "service" });
  }

  function filterBy(name, value) {
    const next = { ...filters.value };
    if (name === "service") next.services = [String(value)];
    else next[name] = String(value);
    changeFilters(next);
  }

  function filterWhere(path, value) {
    const expression = whereEquals(path, value);
    const where = filters.value.where ?? [];
    if (!where.includes(expression)) changeFilters({ ...filters.value, where: [...where, expression] });
  }

  function removeWhere(expression) {
    changeFilters({ ...filters.value, where: (filters.value.where ?? []).filter((w) => w !== expression) });
  }

  const columnChips = computed(() =>
    ["logger_name", "event_type", "request_id", "trace_id", "user_id", "session_id"]
      .filter((n) => filters.value[n])
      .map((n) => ({ name: n, value: filters.value[n] })),
  );

  function removeColumn(name) {
    const next = { ...filters.value };
    delete next[name];
    changeFilters(next);
  }

  async function openAround(record, seconds = aroundSeconds.value) {
    aroundOf.value = record;
    aroundSeconds.value = seconds;
    aroundRecords.value = [];
    aroundLoading.value = true;
    const t = Date.parse(record.timestamp);
    try {
      const items = await searchPages(
        { ...emptyFilters(), services: [record.service] },
        { start: iso(t - seconds * 1000), end: iso(t + seconds * 1000 + 1), limit: 1000 },
        5000,
      );
      items.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
      if (aroundOf.value === record) aroundRecords.value = items;
    } catch (err) {
      notice.value = "Could not load the records around: " + err.message;
    } finally {
      aroundLoading.value = false;
    }
  }

  async function restoreFromUrl() {
    if (initial.record || initial.around) {
      try {
        const record = await api.record(initial.record || initial.around);
        if (initial.record) selected.value = record;
        if (initial.around) openAround(record, initial.aroundSeconds);
      } catch {
        // the record is gone or not readable with this key: nothing to restore
      }
    }
    if (mode.value === "history") {
      loadHistory(true);
      loadRangeViews();
    }
    loadMetrics();
  }

  // Every view is a shareable URL: the address bar follows the page's state.
  watch(
    [filters, mode, range, metrics, aroundOf, aroundSeconds, selected],
    () => {
      if (!signedIn.value) return;
      const state = {
        view: mode.value,
        filters: filters.value,
        range: range.value,
        metrics: metrics.value,
        around: aroundOf.value?.id ?? "",
        aroundSeconds: aroundSeconds.value,
        record: selected.value?.id ?? "",
      };
      window.history.replaceState(null, "", window.location.pathname + writeState(state, window.location.search));
    },
    { deep: true },
  );

  return { range, metrics, histogram, histogramLoading, fieldList, fieldsSampled, fieldsError, fieldsLoading, metricsResult, metricsError, metricsSpan, aroundOf, aroundSeconds, aroundRecords, aroundLoading, columnChips, rangeParams, chartSpan, loadRangeViews, changeRange, loadMetrics, changeMetrics, toggleMetrics, chartField, filterBy, filterWhere, removeWhere, removeColumn, openAround, restoreFromUrl };
}
