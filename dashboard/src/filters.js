// The dashboard's filters, applied in the page to the live tail and sent to the search API.
import { LEVELS, levelNumber } from "./levels.js";

const LEVEL_NO = new Map(LEVELS);

export function emptyFilters() {
  return { level: "", min_level: "", services: [], q: "", where: [] };
}

export function hasFilters(filters) {
  return Boolean(
    filters.level ||
      filters.min_level ||
      filters.services.length ||
      filters.q.trim() ||
      (filters.where ?? []).length ||
      COLUMN_FILTERS.some((n) => filters[n]),
  );
}

/** The fields `q` searches, in history (the API) and live (here) alike. */
export const SEARCHED_FIELDS = ["message", "service", "logger_name", "event_type", "exception_type"];

/** The words of a text: lower case, split at anything that is not a letter or a digit, so the
 * parts of URLs, paths and dotted names are words of their own (`sendMessage` in
 * `.../bot123/sendMessage`). */
export function wordsOf(text) {
  return String(text).toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

function stringValues(value, into) {
  if (typeof value === "string") into.push(value);
  else if (Array.isArray(value)) value.forEach((v) => stringValues(v, into));
  else if (value && typeof value === "object") Object.values(value).forEach((v) => stringValues(v, into));
  return into;
}

/** The words `q` matches in a record: its searched fields and the string values of extra_data. */
export function recordWords(record) {
  const parts = SEARCHED_FIELDS.map((name) => record[name]).filter((v) => v !== null && v !== undefined);
  stringValues(record.extra_data, parts);
  return new Set(wordsOf(parts.join(" ")));
}

/** `q` as terms: each word must occur, a word after `-` must not; quotes group words that
 * must all occur (the API also checks their order). */
export function queryTerms(q) {
  const include = [];
  const exclude = [];
  for (const token of String(q).match(/-?"[^"]*"|\S+/g) || []) {
    const negative = token.startsWith("-") && token.length > 1;
    const words = wordsOf(negative ? token.slice(1) : token);
    if (words.length === 1 && words[0] === "or" && !negative) continue;
    (negative ? exclude : include).push(...words);
  }
  return { include, exclude };
}

/** A predicate that says whether a streamed record passes the filters. The text filter is the
 * search API's rule (docs/api.md, `q`): every word of `q` is a word of the record's message,
 * service, logger, event type, exception type or a string value of its extra_data. */
export function matcher(filters) {
  const level = filters.level ? filters.level.toUpperCase() : "";
  const minimum = filters.min_level ? LEVEL_NO.get(filters.min_level.toUpperCase()) ?? 0 : 0;
  const services = new Set(filters.services);
  const terms = queryTerms(filters.q);
  const extra = extraMatcher(filters);
  return (record) => {
    if (!extra(record)) return false;
    if (level && String(record.level).toUpperCase() !== level) return false;
    if (minimum && levelNumber(record) < minimum) return false;
    if (services.size && !services.has(record.service)) return false;
    if (terms.include.length || terms.exclude.length) {
      const words = recordWords(record);
      if (!terms.include.every((w) => words.has(w))) return false;
      if (terms.exclude.some((w) => words.has(w))) return false;
    }
    return true;
  };
}

// --- where on extra_data and exact column filters ----------------------------------------
// The same rules as the API's `where` (docs/api.md): PATH OP VALUE, dotted keys, the first of
// = ! < > starts the operator (two-character ones first), a number compares as a number with
// numbers (and strings spelling one), anything else (or "quoted") as text; != also matches
// records without the path.

const OPERATORS = ["!=", ">=", "<=", "=", ">", "<"];
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$/;
export const COLUMN_FILTERS = ["logger_name", "event_type", "request_id", "trace_id", "user_id", "session_id"];

/** `{path: [...keys], op, value, number}` or null when malformed. */
export function parseWhere(expression) {
  const at = String(expression).search(/[=!<>]/);
  if (at <= 0) return null;
  const op = OPERATORS.find((o) => expression.startsWith(o, at));
  if (!op) return null;
  const path = expression.slice(0, at).trim().split(".");
  if (!path.every((k) => k && !/[\s=!<>]/.test(k))) return null;
  let raw = expression.slice(at + op.length).trim();
  const quoted = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"');
  if (quoted) raw = raw.slice(1, -1);
  else if (!raw) return null;
  return { path, op, value: raw, number: !quoted && NUMBER.test(raw) ? Number(raw) : null };
}

/** A `where` expression for "this path has this value" (numbers bare, text quoted when it
 * would otherwise read as a number). */
export function whereEquals(path, value) {
  const text = String(value);
  const bare = typeof value === "number" || typeof value === "boolean" || !NUMBER.test(text);
  return `${path}=${bare ? text : `"${text}"`}`;
}

function lookup(extra, path) {
  let value = extra;
  for (const key of path) {
    if (value === null || typeof value !== "object" || Array.isArray(value) || !(key in value)) return undefined;
    value = value[key];
  }
  return value;
}

function compare(a, op, b) {
  if (op === ">") return a > b;
  if (op === ">=") return a >= b;
  if (op === "<") return a < b;
  if (op === "<=") return a <= b;
  return a === b;
}

/** A stored value as a number: a JSON number, or a string spelling one; else null. */
function numeric(value) {
  if (typeof value === "number") return value;
  if (typeof value === "string" && NUMBER.test(value)) return Number(value);
  return null;
}

function holds(condition, extra) {
  const value = lookup(extra, condition.path);
  const { op, number, value: text } = condition;
  if (op === "=" || op === "!=") {
    let equal = false;
    if (value !== undefined && value !== null && typeof value !== "object") {
      equal = number !== null ? numeric(value) === number : String(value) === text;
    }
    return op === "=" ? equal : !equal;
  }
  if (value === undefined || value === null || typeof value === "object") return false;
  if (number !== null) return numeric(value) !== null && compare(numeric(value), op, number);
  return compare(String(value), op, text);
}

/** Whether a record passes every `where` expression and exact column filter. */
export function extraMatcher(filters) {
  const conditions = (filters.where ?? []).map(parseWhere).filter(Boolean);
  const columns = COLUMN_FILTERS.filter((n) => filters[n]);
  return (record) =>
    columns.every((n) => String(record[n] ?? "") === String(filters[n]).trim()) &&
    conditions.every((c) => holds(c, record.extra_data));
}
