"""`python -m devhost`: the whole pipeline on http://127.0.0.1:$PORT (default 7071).

Environment: PORT, HOST (default 127.0.0.1), DATABASE_URL (else embedded PostgreSQL under
.devdata/), DEMO=1 to play the trading bots, DEVHOST_PARTITIONS (default 4), DEVHOST_WORKERS
(processes for the Event Hub-triggered functions; default one per core, 0 runs them all in
this process)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from devhost import logs, loop
from devhost.host import DevHost


async def serve(host: DevHost) -> None:
    from devhost import environment

    await host.start()
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
    host = DevHost(
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "7071")),
        demo=logs.demo_playing(),
    )
    try:
        host.start_services()
        loop.run(serve(host))
    except KeyboardInterrupt:
        pass
    finally:
        host.stop_services()
    return 0


if __name__ == "__main__":
    sys.exit(main())
