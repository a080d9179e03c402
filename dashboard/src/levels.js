// Log levels of the pipeline, including the trading levels, with their numeric severities.
export const LEVELS = [
  ["DEBUG", 10],
  ["INFO", 20],
  ["SIGNAL_RECEIVED", 22],
  ["AI_DECISION", 23],
  ["TRADE_EXECUTED", 25],
  ["WARNING", 30],
  ["RISK_ALERT", 35],
  ["ERROR", 40],
  ["CRITICAL", 50],
];

const BY_NAME = new Map(LEVELS);

export function levelNumber(record) {
  const n = record.level_no ?? BY_NAME.get(String(record.level ?? "").toUpperCase());
  return typeof n === "number" ? n : 0;
}

/** The band a level belongs to, for the cards, the chart and the colours. */
export function levelBand(record) {
  const n = levelNumber(record);
  if (n >= 40) return "error";
  if (n >= 30) return "warning";
  if (n >= 20) return "info";
  return "debug";
}

export const BANDS = ["error", "warning", "info", "debug"];

export function levelClass(level) {
  return "lv-" + String(level ?? "").toLowerCase().replace(/[^a-z_]/g, "");
}
