// Unit tests of the dashboard's pure modules: `node --test dashboard/tests/`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { filterParams } from "../src/api.js";
import { readFileSync } from "node:fs";
import { neutraliseFormula, toCsv, toNdjson, toJson } from "../src/exporting.js";
import { columnsFor, fieldsFromOpenApi } from "../src/schema.js";
import { emptyFilters, matcher } from "../src/filters.js";
import { backoffDelay } from "../src/live.js";
import { readStats } from "../src/stats.js";
import { Tail } from "../src/tail.js";
import { oneLine, safeText } from "../src/text.js";
import { Volume } from "../src/volume.js";

const rec = (id, timestamp, extra = {}) => ({ id, timestamp, level: "INFO", service: "api-gateway", message: "m", ...extra });

test("the tail keeps the newest N, deduplicates by id and counts what it trimmed", () => {
  const tail = new Tail(3);
  assert.equal(tail.add([rec("a", "2026-01-01T00:00:01Z"), rec("b", "2026-01-01T00:00:02Z")]), 2);
  assert.equal(tail.add([rec("b", "2026-01-01T00:00:02Z")]), 0);
  tail.add([rec("c", "2026-01-01T00:00:03Z"), rec("d", "2026-01-01T00:00:04Z")]);
  assert.deepEqual(tail.records.map((r) => r.id), ["d", "c", "b"]);
  assert.equal(tail.trimmed, 1);
  assert.equal(tail.newestTimestamp(), "2026-01-01T00:00:04Z");
});

test("a gap fill of older records lands in timestamp order", () => {
  const tail = new Tail(10);
  tail.add([rec("new", "2026-01-01T00:00:09Z")]);
  tail.add([rec("gap2", "2026-01-01T00:00:05Z"), rec("gap1", "2026-01-01T00:00:04Z"), rec("newest", "2026-01-01T00:00:10Z")]);
  assert.deepEqual(tail.records.map((r) => r.id), ["newest", "new", "gap2", "gap1"]);
});

test("filters match level, minimum level, service and every word of the text", () => {
  const error = rec("1", "t", { level: "ERROR", level_no: 40, service: "trading-engine", message: "Order REJECTED by exchange" });
  const info = rec("2", "t", { level: "INFO", level_no: 20 });
  const f = (changes) => matcher({ ...emptyFilters(), ...changes });
  assert.ok(f({})(error) && f({})(info));
  assert.ok(f({ level: "error" })(error) && !f({ level: "ERROR" })(info));
  assert.ok(f({ min_level: "WARNING" })(error) && !f({ min_level: "WARNING" })(info));
  assert.ok(f({ min_level: "RISK_ALERT" })(rec("3", "t", { level: "CRITICAL" })));
  assert.ok(f({ services: ["trading-engine"] })(error) && !f({ services: ["trading-engine"] })(info));
  assert.ok(f({ q: "rejected order" })(error) && !f({ q: "rejected cancelled" })(error));
});

test("the live text filter is the API's word rule: URLs split, extra_data searched, whole words", () => {
  const f = (q) => matcher({ ...emptyFilters(), q });
  const url = rec("4", "t", { message: "POST https://api.telegram.org/bot123:ABC/sendMessage failed", logger_name: "bots.notifier" });
  const extra = rec("5", "t", { message: "order placed", extra_data: { client_order_id: "zq81x", venue: "kraken.futures", fill: { qty: 7 } } });
  assert.ok(f("sendMessage")(url) && f("telegram bot123")(url) && f("api.telegram.org/bot123")(url));
  assert.ok(f("notifier")(url) && !f("notifier")(extra));
  assert.ok(f("zq81x")(extra) && f("kraken")(extra) && !f("zq81x")(url));
  assert.ok(!f("send")(url), "words match whole, not as substrings");
  assert.ok(!f("venue")(extra) && !f("7")(extra), "keys and numbers of extra_data are not words");
  assert.ok(!f("order -zq81x")(extra) && f("placed -telegram")(extra));
  assert.ok(!f("upstream")(rec("6", "t", { message: "x", exception_message: "upstream timed out" })));
});

test("search parameters repeat service and drop empty filters", () => {
  const params = filterParams({ ...emptyFilters(), services: ["a", "b"], q: " x ", level: "" }, { limit: 5, cursor: null });
  assert.equal(params.toString(), "q=x&service=a&service=b&limit=5");
});

test("CSV quotes separators, newlines and quotes, and keeps formulas as text", () => {
  const fields = ["id", "timestamp", "service", "message", "extra_data"].map((name) => ({ name }));
  const csv = toCsv([{ id: "1", message: 'a,"b"\nc', service: "=HYPERLINK(1)", extra_data: { k: 1 } }], fields);
  const [header, row] = csv.split("\r\n");
  assert.equal(header, "id,service,message,extra_data");
  assert.equal(row, "1,'=HYPERLINK(1),\"a,\"\"b\"\"\nc\",\"{\"\"k\"\":1}\"");
});

test("columns follow the declared fields, then other keys; without fields, the records' keys", () => {
  const fields = [{ name: "id" }, { name: "level" }, { name: "message" }];
  const records = [{ message: "m", zeta: 1, id: "1" }, { level: "INFO", id: "2", alpha: 2 }];
  assert.deepEqual(columnsFor(records, fields), ["id", "level", "message", "zeta", "alpha"]);
  assert.deepEqual(columnsFor(records), ["message", "zeta", "id", "level", "alpha"]);
});

test("fields come from the Record schema of the OpenAPI document, in its order", () => {
  const doc = { components: { schemas: { Record: { properties: {
    id: { "x-block": false }, message: { "x-block": true, "x-searchable": false },
    stack_trace: { "x-block": true, "x-reader": false }, trace_id: { "x-searchable": true },
  } } } } };
  assert.deepEqual(fieldsFromOpenApi(doc), [
    { name: "id", block: false, reader: true, searchable: false },
    { name: "message", block: true, reader: true, searchable: false },
    { name: "stack_trace", block: true, reader: false, searchable: false },
    { name: "trace_id", block: false, reader: true, searchable: true },
  ]);
  assert.deepEqual(fieldsFromOpenApi({}), []);
});

test("NDJSON and JSON round-trip the records", () => {
  const records = [rec("1", "t"), rec("2", "t", { extra_data: { "<b>": "</script>" } })];
  assert.deepEqual(toNdjson(records).trim().split("\n").map((l) => JSON.parse(l)), records);
  assert.deepEqual(JSON.parse(toJson(records)), records);
});

test("control characters become visible text and one-line cells show line breaks", () => {
  assert.equal(safeText("\u001b[31mred\u001b[0m\u0000"), "^[[31mred^[[0m^@");
  assert.equal(safeText("a\nb\tc"), "a\nb\tc");
  assert.equal(oneLine("a\r\nb"), "a \u23ce b");
  assert.equal(oneLine("x".repeat(10), 4), "xxxx\u2026");
});

test("backoff grows exponentially with jitter up to the cap", () => {
  const low = (attempt) => backoffDelay(attempt, { random: () => 0 });
  const high = (attempt) => backoffDelay(attempt, { random: () => 1 });
  assert.deepEqual([0, 1, 2, 3].map(high), [500, 1000, 2000, 4000]);
  assert.deepEqual([0, 1, 2].map(low), [250, 500, 1000]);
  assert.equal(high(20), 30_000);
});

test("stats cards add error, warning, info, trade and risk bands from the counts by level", () => {
  const { cards, services } = readStats({
    total: 10,
    by_level: { DEBUG: 1, INFO: 2, TRADE_EXECUTED: 1, WARNING: 2, RISK_ALERT: 1, ERROR: 2, CRITICAL: 1 },
    by_service: { a: 6, b: 4 },
  });
  assert.deepEqual(cards, { total: 10, errors: 3, warnings: 3, info: 3, trades: 1, risk: 1 });
  assert.deepEqual(services, ["a", "b"]);
});

test("volume buckets count per minute by band over a fixed window", () => {
  const volume = new Volume(5);
  const now = Date.now();
  const iso = (ms) => new Date(ms).toISOString();
  volume.add([
    rec("1", iso(now), { level: "ERROR" }),
    rec("2", iso(now), { level: "INFO" }),
    rec("3", iso(now - 60_000), { level: "WARNING" }),
    rec("4", iso(now - 3_600_000), { level: "ERROR" }),
  ]);
  const series = volume.series(now);
  assert.equal(series.length, 5);
  assert.deepEqual(series[4].counts, { error: 1, warning: 0, info: 1, debug: 0 });
  assert.equal(series[3].counts.warning, 1);
  assert.equal(series.reduce((n, p) => n + p.counts.error, 0), 1);
});

test("a partial history seed marks the minutes it did not reach as not covered", () => {
  const now = Date.now();
  const volume = new Volume(10);
  volume.seed([rec("1", new Date(now - 120_000).toISOString())], false);
  const series = volume.series(now);
  assert.deepEqual(series.map((p) => p.covered), [false, false, false, false, false, false, false, true, true, true]);
  const full = new Volume(10);
  full.seed([], true);
  assert.ok(full.series(now).every((p) => p.covered));
});

import { parseWhere, whereEquals } from "../src/filters.js";
import { intervalFor, readState, resolveRange, writeState } from "../src/urlstate.js";

test("where expressions filter the live tail as the API does", () => {
  const f = (...where) => matcher({ ...emptyFilters(), where });
  const r = rec("7", "t", { extra_data: { symbol: "ETHUSDT", response_time: 350, code: "300", order: { side: "buy" } } });
  assert.ok(f("symbol=ETHUSDT")(r) && !f("symbol=BTCUSDT")(r));
  assert.ok(f("response_time>=300")(r) && !f("response_time>350")(r) && f("response_time<1000")(r));
  assert.ok(f("code=300")(r) && f('code="300"')(r) && f("code>100")(r) && !f("symbol>5")(r), "a string spelling a number is one");
  assert.ok(f("order.side=buy", "symbol!=BTCUSDT")(r) && f("missing!=x")(r) && !f("missing=x")(r));
  assert.equal(parseWhere("symbol"), null);
  assert.equal(parseWhere("a!5"), null);
  assert.deepEqual(parseWhere("a>=5"), { path: ["a"], op: ">=", value: "5", number: 5 });
  assert.equal(whereEquals("code", "300"), 'code="300"');
  assert.equal(whereEquals("code", 300), "code=300");
  assert.equal(whereEquals("symbol", "ETHUSDT"), "symbol=ETHUSDT");
});

test("the page state round-trips through the URL and keeps parameters it does not own", () => {
  const state = {
    view: "history",
    filters: { ...emptyFilters(), q: "boom", services: ["a", "b"], where: ["symbol=ETH,USDT", "x>=2"], event_type: "order" },
    range: { start: "2026-03-01T10:00:00.000Z", end: "2026-03-01T11:00:00.000Z" },
    metrics: { fn: "p95", field: "response_time", by: "service", interval: "1m" },
    around: "rec-1",
    aroundSeconds: 30,
    record: "rec-1",
  };
  const query = writeState(state, "?tail=100&view=live");
  const back = readState(query);
  assert.equal(new URLSearchParams(query).get("tail"), "100");
  assert.deepEqual(back.filters.where, state.filters.where);
  assert.deepEqual(back.filters.services, ["a", "b"]);
  assert.equal(back.filters.event_type, "order");
  assert.deepEqual(back.range, state.range);
  assert.deepEqual(back.metrics, state.metrics);
  assert.equal(back.view, "history");
  assert.equal(back.around, "rec-1");
  assert.equal(back.aroundSeconds, 30);
  assert.equal(readState("").metrics, null);
  assert.equal(new URLSearchParams(writeState(state, "?view=reports&hour=x")).get("view"), "reports");
});

test("ranges resolve relative starts and histograms pick a readable bucket", () => {
  const now = Date.parse("2026-03-01T12:00:00Z");
  assert.deepEqual(resolveRange({ start: "1h", end: "" }, now), { start: now - 3.6e6, end: now });
  assert.equal(resolveRange({ start: "2026-03-01T11:30:00Z", end: "" }, now).start, now - 1.8e6);
  assert.equal(intervalFor(3.6e6), "1m");
  assert.equal(intervalFor(8.64e7), "15m");
  assert.equal(intervalFor(7 * 8.64e7), "1h");
});

test("report figures carry their changes against earlier hours and the unusual marker", async () => {
  const { figures, delta, tradesBySymbol, volumeRows, errorSearch } = await import("../src/reports.js");
  assert.equal(delta(15, 10), "+5 (+50 %)");
  assert.equal(delta(5, 10), "\u22125 (\u221250 %)");
  assert.equal(delta(3, 0), "+3");
  assert.equal(delta(3, null), "");
  const report = {
    total: 94,
    errors: 2,
    by_level: { TRADE_EXECUTED: 4 },
    changes: { total: { value: 94, previous_hour: 30, same_hour_yesterday: 40, range_24h: [22, 43], unusual: true } },
    by_service_level: { a: { ERROR: 1, INFO: 3 }, b: { INFO: 9 } },
    period_start: "2026-01-01T10:00:00+00:00",
    period_end: "2026-01-01T11:00:00+00:00",
  };
  const [total, errors, trades] = figures(report);
  assert.deepEqual([total.name, total.value, total.previous, total.unusual], ["total", "94", "+64 (+213 %)", true]);
  assert.equal(total.range, "22\u201343");
  assert.deepEqual([errors.value, errors.previous, errors.unusual], ["2", "", false]);
  assert.equal(trades.value, "4");
  assert.deepEqual(
    tradesBySymbol([
      { service: "x", symbol: "ETHUSDT", executed: 2, blocked: 1 },
      { service: "y", symbol: "ETHUSDT", executed: 1, blocked: 0 },
      { service: "y", symbol: "BTCUSDT", executed: 9, blocked: 0 },
    ]),
    [
      { symbol: "BTCUSDT", executed: 9, blocked: 0 },
      { symbol: "ETHUSDT", executed: 3, blocked: 1 },
    ],
  );
  const volume = volumeRows(report);
  assert.deepEqual(volume.levels, ["INFO", "ERROR"]);
  assert.deepEqual(volume.rows.map((r) => [r.service, r.counts]), [["b", [9, 0]], ["a", [3, 1]]]);
  const search = errorSearch(report, { service: "a", message: "boom" });
  assert.deepEqual([search.q, search.services, search.min_level, search.start], ["boom", ["a"], "ERROR", report.period_start]);
});

test("the cards count trades executed and risk alerts", async () => {
  const { cardsFromLevels } = await import("../src/stats.js");
  const cards = cardsFromLevels({ TRADE_EXECUTED: 3, RISK_ALERT: 2, INFO: 5, ERROR: 1 });
  assert.deepEqual([cards.trades, cards.risk, cards.total, cards.errors], [3, 2, 11, 1]);
});

test("formula cells follow the one rule the server's CSV export follows too, case by case", () => {
  const rule = JSON.parse(readFileSync(new URL("../../shared/csv_formula.json", import.meta.url), "utf8"));
  assert.ok(rule.cases.length >= 10);
  for (const [text, cell] of rule.cases) assert.equal(neutraliseFormula(text), cell, JSON.stringify(text));
  const csv = toCsv([{ id: "a", message: rule.cases[0][0], level_no: -5 }]);
  assert.ok(csv.includes("'=HYPERLINK"), csv);
  assert.ok(csv.includes(",-5,") || csv.endsWith(",-5\r\n"), csv);
});
