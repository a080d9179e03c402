// Cards from GET /api/logs/stats, tolerant of counts given as {LEVEL: n} or [{level, count}].
import { LEVELS } from "./levels.js";

const LEVEL_NO = new Map(LEVELS);

function counts(value) {
  if (Array.isArray(value)) {
    return Object.fromEntries(
      value.map((row) => [row.level ?? row.service ?? row.name ?? row.key, Number(row.count ?? row.n ?? 0)]),
    );
  }
  return value && typeof value === "object" ? value : {};
}

export function cardsFromLevels(byLevel) {
  const cards = { total: 0, errors: 0, warnings: 0, info: 0, trades: 0, risk: 0 };
  for (const [level, n] of Object.entries(byLevel)) {
    const name = String(level).toUpperCase();
    const number = LEVEL_NO.get(name) ?? 0;
    cards.total += n;
    if (name === "TRADE_EXECUTED") cards.trades += n;
    if (name === "RISK_ALERT") cards.risk += n;
    if (number >= 40) cards.errors += n;
    else if (number >= 30) cards.warnings += n;
    else if (number >= 20) cards.info += n;
  }
  return cards;
}

export function readStats(body) {
  const totals = body.totals && typeof body.totals === "object" ? body.totals : body;
  const byLevel = counts(totals.by_level ?? body.by_level ?? totals.levels ?? {});
  const byService = counts(totals.by_service ?? body.by_service ?? totals.services ?? {});
  const cards = cardsFromLevels(byLevel);
  const total = totals.total ?? body.total;
  if (typeof total === "number") cards.total = total;
  return { cards, services: Object.keys(byService) };
}
