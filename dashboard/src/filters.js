// The dashboard's filters, applied in the page to the live tail and sent to the search API.
import { LEVELS, levelNumber } from "./levels.js";

const LEVEL_NO = new Map(LEVELS);

export function emptyFilters() {
  return { level: "", min_level: "", services: [], q: "" };
}

export function hasFilters(filters) {
  return Boolean(filters.level || filters.min_level || filters.services.length || filters.q.trim());
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
  return (record) => {
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
