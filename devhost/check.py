"""`python -m devhost.check [APP_DIR]`: index the Function App with the Python worker's own
code (worker init, function metadata, function load) and fail on any load error, as the
Functions host would. `make test` and CI run it first."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from devhost.runtime import ROOT, LoadError, Worker


async def check(app_dir: Path) -> int:
    worker = Worker(app_dir)
    try:
        functions = await worker.start()
    except LoadError as exc:
        print(f"the app does not load: {exc}", file=sys.stderr)
        return 1
    finally:
        worker.stop()
    if not functions:
        print(f"the worker found no functions in {app_dir}", file=sys.stderr)
        return 1
    names = ", ".join(sorted(f.name for f in functions))
    print(f"the Python worker loads {len(functions)} functions: {names}")
    return 0


def main(argv: list[str]) -> int:
    app_dir = Path(argv[0]).resolve() if argv else ROOT
    return asyncio.run(check(app_dir))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
