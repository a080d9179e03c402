"""`python -m devhost`: the whole pipeline on http://127.0.0.1:$PORT.

Environment: PORT (default 7071, or a free port, said so, when 7071 is taken), HOST (default
127.0.0.1), DATABASE_URL (else embedded PostgreSQL under .devdata/), DEMO=1 to play the trading
bots, DEVHOST_PARTITIONS (default 4), DEVHOST_WORKERS (processes for the Event Hub-triggered
functions; default one per core, 0 runs them all in this process)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from devhost import lifeline, logs, loop
from devhost.host import DevHost, chosen_port
from devhost.runtime import LoadError


async def serve(host: DevHost) -> None:
    from devhost import environment

    await host.start()
    await host.settled()
    print(environment.ready_line(host.base_url, os.environ), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("stopping: draining accepted events...", flush=True)
    await host.stop()


def main() -> int:
    logs.configure()
    lifeline.exit_with_parent()
    explicit_port = os.environ.get("PORT", "").strip()
    host = DevHost(
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(explicit_port) if explicit_port else chosen_port("the dev host", 7071),
        demo=logs.demo_playing(),
    )
    try:
        host.start_services()
        loop.run(serve(host))
    except KeyboardInterrupt:
        pass
    except LoadError as exc:
        print(f"the app does not load: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        host.stop_services()
    return 0


if __name__ == "__main__":
    sys.exit(main())
