// Log volume per minute by level band, for the chart: a fixed window of recent minutes.
import { BANDS, levelBand } from "./levels.js";

const MINUTE = 60_000;

export class Volume {
  constructor(minutes = 30) {
    this.minutes = minutes;
    this.buckets = new Map();
    // Minutes before this time have no data on the page (the history seed did not reach them).
    this.coveredFrom = Date.now();
  }

  /** Count records from history, all older than the live stream's first record, and mark how
   * far back the window is covered: the whole window when `complete`, else from the oldest. */
  seed(records, complete) {
    this.add(records);
    const oldest = records.reduce((min, r) => Math.min(min, Date.parse(r.timestamp) || min), Date.now());
    this.coveredFrom = complete ? 0 : oldest;
  }

  add(records) {
    const oldest = Math.floor(Date.now() / MINUTE) - this.minutes + 1;
    for (const record of records) {
      const t = Date.parse(record.timestamp);
      if (Number.isNaN(t)) continue;
      const minute = Math.floor(t / MINUTE);
      if (minute < oldest) continue;
      let bucket = this.buckets.get(minute);
      if (!bucket) {
        bucket = { error: 0, warning: 0, info: 0, debug: 0 };
        this.buckets.set(minute, bucket);
      }
      bucket[levelBand(record)] += 1;
    }
  }

  /** The window as a list of {minute, counts}, oldest first, empty minutes included. */
  series(now = Date.now()) {
    const last = Math.floor(now / MINUTE);
    const first = last - this.minutes + 1;
    for (const minute of this.buckets.keys()) if (minute < first) this.buckets.delete(minute);
    const out = [];
    for (let minute = first; minute <= last; minute++) {
      const counts = this.buckets.get(minute) ?? Object.fromEntries(BANDS.map((b) => [b, 0]));
      const covered = (minute + 1) * MINUTE > this.coveredFrom;
      out.push({ minute: minute * MINUTE, counts, covered });
    }
    return out;
  }
}
