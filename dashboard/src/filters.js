// The dashboard's filters, applied in the page to the live tail and sent to the search API.
import { LEVELS, levelNumber } from "./levels.js";

const LEVEL_NO = new Map(LEVELS);

export function emptyFilters() {
  return { level: "", min_level: "", services: [], q: "" };
}

export function hasFilters(filters) {
  return Boolean(filters.level || filters.min_level || filters.services.length || filters.q.trim());
}

/** A predicate that says whether a streamed record passes the filters. The text filter is a
 * case-insensitive match of every word against the record's message, service, logger, event
 * type, request id and exception, close to the search API's full-text query. */
export function matcher(filters) {
  const level = filters.level ? filters.level.toUpperCase() : "";
  const minimum = filters.min_level ? LEVEL_NO.get(filters.min_level.toUpperCase()) ?? 0 : 0;
  const services = new Set(filters.services);
  const words = filters.q.toLowerCase().split(/\s+/).filter(Boolean);
  return (record) => {
    if (level && String(record.level).toUpperCase() !== level) return false;
    if (minimum && levelNumber(record) < minimum) return false;
    if (services.size && !services.has(record.service)) return false;
    if (words.length) {
      const haystack = [
        record.message,
        record.service,
        record.logger_name,
        record.event_type,
        record.request_id,
        record.exception_type,
        record.exception_message,
      ]
        .filter((v) => v !== null && v !== undefined)
        .join(" ")
        .toLowerCase();
      if (!words.every((w) => haystack.includes(w))) return false;
    }
    return true;
  };
}
