"""What each candidate index of system_logs costs a COPY, measured side by side in one run.

    python -m bench.store_index_costs [ROUNDS]

Each variant is a daily-partitioned copy of system_logs with its primary key plus the named
indexes, preloaded with the same rows; 500-row COPY batches then take turns across variants.
GIN pending lists are flushed at the end and the flush is charged to its variant, so fastupdate
is not credited with work it merely postponed. The figures behind docs/storage.md; not part of
`make bench` (it takes a few minutes)."""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import asyncpg

from bench import databases
from bench.bench_store import make_records
from shared import db, store

BLOCK_ROUNDS = 10
NO_NUMBERS_CONFIG = """
CREATE TEXT SEARCH CONFIGURATION bench_no_numbers (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION bench_no_numbers
    DROP MAPPING FOR int, uint, float, sfloat, version, hword_numpart;
"""
FTS = "to_tsvector('simple', message)"
VARIANTS: dict[str, list[str]] = {
    "primary key only": [],
    "+ timestamp btree": ['CREATE INDEX ON {t} ("timestamp")'],
    "+ timestamp brin": ['CREATE INDEX ON {t} USING brin ("timestamp")'],
    "+ service, timestamp btree": ['CREATE INDEX ON {t} (service, "timestamp")'],
    "+ timestamp btree where level_no >= 30": [
        'CREATE INDEX ON {t} ("timestamp") WHERE level_no >= 30'
    ],
    "+ request_id btree": ["CREATE INDEX ON {t} (request_id) WHERE request_id IS NOT NULL"],
    "+ request_id hash": ["CREATE INDEX ON {t} USING hash (request_id)"],
    "+ gin fts (fastupdate on, 4 MB list)": [f"CREATE INDEX ON {{t}} USING gin ({FTS})"],
    "+ gin fts (fastupdate off)": [
        f"CREATE INDEX ON {{t}} USING gin ({FTS}) WITH (fastupdate = off)"
    ],
    "+ gin fts (16 MB list)": [
        f"CREATE INDEX ON {{t}} USING gin ({FTS}) WITH (gin_pending_list_limit = 16384)"
    ],
    "+ gin fts without numbers": [
        "CREATE INDEX ON {t} USING gin (to_tsvector('bench_no_numbers', message))"
    ],
    "all, request_id btree (0001)": [
        'CREATE INDEX ON {t} ("timestamp")',
        'CREATE INDEX ON {t} (service, "timestamp")',
        'CREATE INDEX ON {t} ("timestamp") WHERE level_no >= 30',
        "CREATE INDEX ON {t} (request_id) WHERE request_id IS NOT NULL",
        f"CREATE INDEX ON {{t}} USING gin ({FTS})",
    ],
    "all, request_id hash (0002)": [
        'CREATE INDEX ON {t} ("timestamp")',
        'CREATE INDEX ON {t} (service, "timestamp")',
        'CREATE INDEX ON {t} ("timestamp") WHERE level_no >= 30',
        "CREATE INDEX ON {t} USING hash (request_id)",
        f"CREATE INDEX ON {{t}} USING gin ({FTS})",
    ],
}


async def _create(conn: asyncpg.Connection, table: str, ddl: list[str], day: datetime) -> None:
    await conn.execute(
        f"CREATE TABLE {table} (LIKE system_logs INCLUDING DEFAULTS) "
        f'PARTITION BY RANGE ("timestamp");'
        f'ALTER TABLE {table} ADD PRIMARY KEY (id, "timestamp");'
        f"CREATE TABLE {table}_p PARTITION OF {table} FOR VALUES FROM "
        f"('{day.isoformat()}') TO ('{(day + timedelta(days=1)).isoformat()}')"
    )
    for statement in ddl:
        await conn.execute(statement.format(t=table))


async def _flush_gin(conn: asyncpg.Connection, table: str) -> None:
    indexes = await conn.fetch(
        "SELECT i.indexrelid::regclass::text AS name FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
        "WHERE a.amname = 'gin' AND i.indrelid = $1::regclass",
        f"{table}_p",
    )
    for index in indexes:
        await conn.execute("SELECT gin_clean_pending_list($1::regclass)", index["name"])


async def measure(
    url: str, rounds: int, preload: int, variants: dict[str, list[str]] | None = None
) -> dict[str, list[float]]:
    """Seconds per block of BLOCK_ROUNDS batches, per variant (default VARIANTS; the first is
    the base the others are compared with)."""
    variants = VARIANTS if variants is None else variants
    conn = await asyncpg.connect(url)
    await db.init_connection(conn)
    try:
        await conn.execute(NO_NUMBERS_CONFIG)
        day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        tables = {label: f"variant_{i}" for i, label in enumerate(variants)}
        for label, table in tables.items():
            await _create(conn, table, variants[label], day)
        rng = random.Random(11)
        rows = [store.row(r) for r in make_records(preload, day, rng)]
        for table in tables.values():
            for i in range(0, len(rows), 5000):
                await conn.copy_records_to_table(
                    table, records=rows[i : i + 5000], columns=store.COLUMNS
                )
            await _flush_gin(conn, table)
            await conn.execute(f"VACUUM ANALYZE {table}")
        cursor = day + timedelta(milliseconds=preload * 7)
        blocks: dict[str, list[float]] = {label: [] for label in tables}
        for round_no in range(rounds):
            if round_no % BLOCK_ROUNDS == 0:
                for spent in blocks.values():
                    spent.append(0.0)
            order = list(tables)
            random.Random(round_no).shuffle(order)
            for label in order:
                batch = [store.row(r) for r in make_records(500, cursor, rng)]
                cursor += timedelta(milliseconds=3500)
                began = time.perf_counter()
                await conn.copy_records_to_table(
                    tables[label], records=batch, columns=store.COLUMNS
                )
                if round_no % BLOCK_ROUNDS == BLOCK_ROUNDS - 1:
                    await _flush_gin(conn, tables[label])
                blocks[label][-1] += time.perf_counter() - began
        return blocks
    finally:
        await conn.close()


async def amain(rounds: int, preload: int) -> None:
    server = await asyncio.to_thread(databases.server_url, "store-postgres")
    async with databases.fresh(server, "bench_indexes") as url:
        blocks = await measure(url, rounds, preload)
    print(f"{rounds} rounds of 500-row COPY batches per variant, {preload} rows preloaded")
    for line in table(blocks):
        print(line)


def table(blocks: dict[str, list[float]]) -> list[str]:
    """Rows/s of each variant, its share of the first variant's rate and its extra cost."""
    base = next(iter(blocks.values()))
    rows_per_block = BLOCK_ROUNDS * 500
    lines = [f"{'variant':<42} {'rows/s':>9} {'of PK only':>11} {'extra us/row':>13}"]
    for label, spent in blocks.items():
        rate = len(spent) * rows_per_block / sum(spent)
        share = statistics.median(b / s for b, s in zip(base, spent, strict=True))
        extra = statistics.median(
            (s - b) / rows_per_block * 1e6 for b, s in zip(base, spent, strict=True)
        )
        lines.append(f"{label:<42} {rate:>9,.0f} {share:>11.2f} {extra:>13.1f}")
    return lines


if __name__ == "__main__":
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    preload = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    asyncio.run(amain(rounds, preload))
