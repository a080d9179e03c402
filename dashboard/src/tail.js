// The live tail: the newest records first, at most `limit` of them, deduplicated by id,
// counting what was trimmed so the operator knows the page dropped older rows.

function newestFirst(a, b) {
  const ta = a.timestamp ?? "";
  const tb = b.timestamp ?? "";
  return ta < tb ? 1 : ta > tb ? -1 : 0;
}

export class Tail {
  constructor(limit) {
    this.limit = limit;
    this.records = [];
    this.ids = new Set();
    this.trimmed = 0;
    this.lastAdded = [];
  }

  clear() {
    this.records = [];
    this.ids = new Set();
    this.trimmed = 0;
  }

  has(id) {
    return this.ids.has(id);
  }

  /** Add records (any order); returns how many were new. Sorted merge keeps the tail in
   * timestamp order even when a gap fill brings older records after newer live ones. */
  add(records) {
    const fresh = [];
    for (const record of records) {
      if (!record || record.id === undefined || this.ids.has(record.id)) continue;
      this.ids.add(record.id);
      fresh.push(record);
    }
    this.lastAdded = fresh;
    if (!fresh.length) return 0;
    // Newest first; among equal timestamps (one request's records), the later one first.
    fresh.reverse().sort(newestFirst);
    const head = this.records[0];
    const merged =
      !head || newestFirst(fresh[fresh.length - 1], head) <= 0
        ? fresh.concat(this.records)
        : fresh.concat(this.records).sort(newestFirst);
    if (merged.length > this.limit) {
      for (const old of merged.splice(this.limit)) {
        this.ids.delete(old.id);
        this.trimmed += 1;
      }
    }
    this.records = merged;
    return fresh.length;
  }

  newestTimestamp() {
    return this.records.length ? this.records[0].timestamp : null;
  }
}
