"""Schema migrations: the numbered files `shared/migrations/NNNN_name.sql`, applied in order,
each in its own transaction, recorded in `schema_migrations`, under an advisory lock so that
processes starting together apply each file exactly once.

    python -m shared.migrate      # applies to DATABASE_URL (or POSTGRES_* with Entra)
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from pathlib import Path

import asyncpg

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_NAME = re.compile(r"^(\d{4})_[A-Za-z0-9_]+\.sql$")
ADVISORY_LOCK_KEY = 0x6C6F67_6D6967  # "logmig"

log = logging.getLogger(__name__)


def pending_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    """The migration files in the order they apply; raises on a duplicated number."""
    files = sorted(p for p in directory.glob("*.sql") if MIGRATION_NAME.match(p.name))
    numbers = [p.name[:4] for p in files]
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        raise RuntimeError(f"duplicate migration numbers: {', '.join(duplicates)}")
    return files


async def apply_on(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every migration not yet recorded on this connection's database; return the names
    applied (file names without `.sql`)."""
    await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
    try:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                name text PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        applied: list[str] = []
        for path in pending_files(directory):
            name = path.stem
            if name in done:
                continue
            async with conn.transaction():
                await conn.execute(path.read_text(encoding="utf-8"))
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
            log.info("applied migration %s", name)
            applied.append(name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)


async def apply(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations to the database at `dsn`; return the names applied."""
    conn = await asyncpg.connect(dsn)
    try:
        return await apply_on(conn, directory)
    finally:
        await conn.close()


async def apply_configured() -> list[str]:
    """Apply pending migrations to the database the settings name."""
    from shared import db
    from shared.settings import get_settings

    conn = await db.connect(get_settings())
    try:
        return await apply_on(conn)
    finally:
        await conn.close()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        applied = asyncio.run(apply_configured())
    except (OSError, asyncpg.PostgresError, RuntimeError) as exc:
        print(f"migration failed: {exc}", file=sys.stderr)
        return 1
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
