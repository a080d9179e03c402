// Export of the records on screen as JSON, NDJSON or CSV, downloaded by the browser.
import formula from "../../shared/csv_formula.json" with { type: "json" };

import { columnsFor } from "./schema.js";

export function neutraliseFormula(text) {
  return text !== "" && formula.starts.includes(text[0]) ? formula.prefix + text : text;
}

function csvCell(value) {
  if (value === null || value === undefined) return "";
  let text = typeof value === "object" ? JSON.stringify(value) : String(value);
  // A cell a spreadsheet would evaluate as a formula is kept as text (the rule the server's
  // export follows too: shared/csv_formula.json).
  if (typeof value === "string") text = neutraliseFormula(text);
  return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
}

/** CSV of the records; columns in the order of the server's field table (`fields`, from
 * schema.js), then any other keys the records carry. */
export function toCsv(records, fields = []) {
  const columns = columnsFor(records, fields);
  const lines = [columns.join(",")];
  for (const record of records) lines.push(columns.map((c) => csvCell(record[c])).join(","));
  return lines.join("\r\n") + "\r\n";
}

export function toNdjson(records) {
  return records.map((r) => JSON.stringify(r)).join("\n") + (records.length ? "\n" : "");
}

export function toJson(records) {
  return JSON.stringify(records, null, 2) + "\n";
}

export const FORMATS = {
  json: { render: toJson, type: "application/json", extension: "json" },
  ndjson: { render: toNdjson, type: "application/x-ndjson", extension: "ndjson" },
  csv: { render: toCsv, type: "text/csv", extension: "csv" },
};

export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function exportRecords(records, format, stem = "logs", fields = []) {
  const spec = FORMATS[format];
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  download(new Blob([spec.render(records, fields)], { type: spec.type }), `${stem}-${stamp}.${spec.extension}`);
}
