"""What a record costs in the Python worker's path, the path every Event Hub function takes in
Azure, side by side in one run (bench/worker_cost.py, in a process of its own; see there for
each method). Batches of 500 records of about 500 bytes; microseconds per record, medians of
30 rounds in which the methods take turns.

Each record of a batch crosses the worker's path once per Event Hub function (store, archive,
analyze, stream): four times in Azure. Most of it is the SDK's converter parsing the enqueued
time; the dev host remembers that parse per distinct enqueued time and pays the rest.

Target: the dev host's path at most a quarter of the worker's path as Azure runs it (the
shortcut must take the parse away, or the dev host would measure the SDK, not the pipeline)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> bool:
    load = os.getloadavg()[0]
    result = subprocess.run(
        [sys.executable, "-m", "bench.worker_cost"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    cost = json.loads(result.stdout.strip().splitlines()[-1])
    worker, dev_host, parse = cost["worker"], cost["dev_host"], cost["enqueued_time"]
    direct, function = cost["direct"], cost["function"]
    rows = [
        ("worker path, as in Azure (us/record)", f"{worker:.1f}"),
        ("  of which the enqueued time parse (us/record)", f"{parse:.1f}"),
        ("  ratio parse / worker path", f"{parse / worker:.2f}"),
        ("worker path, dev host (us/record)", f"{dev_host:.1f}"),
        ("  ratio dev host / as in Azure", f"{dev_host / worker:.2f}"),
        ("EventHubEvents built directly (us/record)", f"{direct:.2f}"),
        ("  ratio worker path / direct", f"{worker / direct:.0f}"),
        ("the stream function's own work (us/record)", f"{function:.1f}"),
        ("  ratio worker path / stream function", f"{worker / function:.1f}"),
        ("  ratio 4 functions' worker paths / stream function", f"{4 * worker / function:.1f}"),
        ("host data, shaped by the dev host (us/record)", f"{cost['host_data']:.2f}"),
        ("load average (1 min, highest seen)", f"{max(load, os.getloadavg()[0]):.2f}"),
    ]
    for name, value in itertools.chain([("measure", "value")], rows):
        print(f"{name:<56}{value:>10}")
    return dev_host <= worker / 4
