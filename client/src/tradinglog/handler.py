"""A `logging.Handler` that ships records to the pipeline's POST /api/logs without ever
blocking or crashing the program that logs.

The logging call only captures the record and appends it to a bounded in-memory queue; a
background thread batches by count and age, gzips, and delivers with retries (exponential
backoff with jitter, honouring Retry-After). Record ids are assigned once, so a retried batch
is stored once. A full queue drops its oldest records and the next batch reports how many.
With a spool directory, batches that cannot be delivered are kept on disk and sent after a
restart."""

from __future__ import annotations

import atexit
import contextlib
import gzip
import http.client
import itertools
import json
import logging
import os
import random
import socket
import sys
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tradinglog import context
from tradinglog.records import captured, to_pipeline

RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


class Delivery:
    """One HTTP/1.1 keep-alive connection to the pipeline."""

    def __init__(self, endpoint: str, api_key: str, timeout: float, compress: bool) -> None:
        parts = urlsplit(endpoint)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if self.https else 80)
        self.path = parts.path or "/api/logs"
        self.api_key = api_key
        self.timeout = timeout
        self.compress = compress
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self._conn = cls(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def post(self, records: list[dict[str, Any]]) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body); status 0 means the pipeline could not be reached."""
        body = json.dumps(records, separators=(",", ":"), default=str).encode()
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.api_key}",
        }
        if self.compress:
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        try:
            conn = self._connection()
            conn.request("POST", self.path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, payload
        except (OSError, http.client.HTTPException):
            self.close()
            return 0, {}, b""


class PipelineHandler(logging.Handler):
    def __init__(
        self,
        url: str,
        api_key: str,
        service: str,
        *,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        max_queue: int = 10_000,
        spool_dir: str | os.PathLike[str] | None = None,
        timeout: float = 10.0,
        compress: bool = True,
        max_backoff: float = 30.0,
        close_timeout: float = 5.0,
        level: int = logging.NOTSET,
    ) -> None:
        super().__init__(level)
        base = url.rstrip("/")
        self.endpoint = base if base.endswith("/api/logs") else f"{base}/api/logs"
        self.service = service
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_queue = max_queue
        self.max_backoff = max_backoff
        self.close_timeout = close_timeout
        self.spool = Path(spool_dir) if spool_dir else None
        if self.spool:
            self.spool.mkdir(parents=True, exist_ok=True)
        self.process_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._delivery = Delivery(self.endpoint, api_key, timeout, compress)
        self._queue: deque[dict[str, Any]] = deque()
        self._queue_lock = threading.Lock()
        self._seq = itertools.count(1)
        self._dropped = 0
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._in_flight = 0
        self._closing = False
        self._deadline: float | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.delivered = 0
        self.rejected: list[dict[str, Any]] = []
        atexit.register(self.close)
        if self.spool and any(self.spool.glob("*.json")):
            self._start()

    # the logging thread ---------------------------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("tradinglog") or self._closing:
            return
        try:
            item = captured(record, context.current())
            item["seq"] = next(self._seq)
        except Exception:
            self.handleError(record)
            return
        queue = self._queue
        if len(queue) >= self.max_queue:
            with self._queue_lock:
                while len(queue) >= self.max_queue:
                    queue.popleft()
                    self._dropped += 1
        queue.append(item)
        if self._thread is None:
            self._start()
        if len(queue) >= self.batch_size:
            self._wake.set()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="tradinglog-sender", daemon=True
                )
                self._thread.start()

    # the sender thread ----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            try:
                self._send_spooled()
                self._drain()
            except Exception as exc:
                _warn(f"unexpected sender error: {exc!r}")
            if self._closing and not self._queue:
                break

    def _take(self) -> list[dict[str, Any]]:
        batch = []
        queue = self._queue
        with self._queue_lock:
            while queue and len(batch) < self.batch_size:
                batch.append(queue.popleft())
            self._in_flight = len(batch)
            dropped, self._dropped = self._dropped, 0
        records = [to_pipeline(item, self.service, str(uuid.uuid4())) for item in batch]
        for item, rec in zip(batch, records, strict=True):
            rec.setdefault("extra_data", {}).update(seq=item["seq"], process_id=self.process_id)
        if dropped:
            records.append(self._drop_report(dropped))
        return records

    def _drop_report(self, dropped: int) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "level": "WARNING",
            "service": self.service,
            "logger_name": "tradinglog",
            "event_type": "client_dropped_records",
            "message": f"log client queue was full: dropped the oldest {dropped} records",
            "extra_data": {"dropped": dropped, "process_id": self.process_id},
        }

    def _drain(self) -> None:
        while self._queue:
            records = self._take()
            try:
                if not self._deliver(records) and self.spool:
                    self._write_spool(records)
            finally:
                with self._idle:
                    self._in_flight = 0
                    self._idle.notify_all()
        with self._idle:
            self._idle.notify_all()

    def _deliver(self, records: list[dict[str, Any]]) -> bool:
        """Deliver with retries. False: not delivered (pipeline unreachable past the time we
        may wait); the caller spools it. Records the server can never accept are reported
        locally and not retried."""
        pending = [records]
        attempt = 0
        while pending:
            chunk = pending[0]
            status, headers, body = self._delivery.post(chunk)
            if status == 202:
                pending.pop(0)
                self.delivered += len(chunk) - len(self._report_rejected(chunk, body))
                attempt = 0
            elif status == 413 and len(chunk) > 1:
                half = len(chunk) // 2
                pending[0:1] = [chunk[:half], chunk[half:]]
            elif status in (400, 413) or 401 <= status <= 404 or status == 415:
                pending.pop(0)
                self._report_failure(chunk, status, body)
            else:
                if self.spool and attempt >= 2:
                    for rest in pending:
                        self._write_spool(rest)
                    return True
                if self._past_deadline():
                    return False
                self._sleep(self._backoff(attempt, headers.get("retry-after")))
                attempt += 1
        return True

    def _report_rejected(self, chunk: list[dict[str, Any]], body: bytes) -> list[dict[str, Any]]:
        try:
            rejected = json.loads(body).get("rejected") or []
        except (ValueError, AttributeError):
            return []
        for entry in rejected:
            index = entry.get("index")
            record = chunk[index] if isinstance(index, int) and index < len(chunk) else None
            self.rejected.append({"error": entry.get("error"), "record": record})
            _warn(f"pipeline rejected a record: {entry.get('error')}")
        return rejected

    def _report_failure(self, chunk: list[dict[str, Any]], status: int, body: bytes) -> None:
        try:
            detail = json.loads(body)
        except ValueError:
            detail = body[:200].decode(errors="replace")
        for record in chunk:
            self.rejected.append({"error": f"HTTP {status}: {detail}", "record": record})
        _warn(f"pipeline refused {len(chunk)} records with HTTP {status}: {detail}")

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            with contextlib.suppress(ValueError):
                return min(float(retry_after), self.max_backoff)
        return min(self.max_backoff, 0.5 * 2**attempt) * random.uniform(0.5, 1.0)

    def _past_deadline(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _sleep(self, seconds: float) -> None:
        if self._deadline is not None:
            seconds = max(0.0, min(seconds, self._deadline - time.monotonic()))
        time.sleep(seconds)

    # spool ----------------------------------------------------------------------------

    def _write_spool(self, records: list[dict[str, Any]]) -> None:
        assert self.spool is not None
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.json"
        tmp = self.spool / f".{name}.tmp"
        tmp.write_text(json.dumps(records, default=str))
        tmp.replace(self.spool / name)

    def _send_spooled(self) -> None:
        if not self.spool:
            return
        for path in sorted(self.spool.glob("*.json")):
            try:
                records = json.loads(path.read_text())
            except (OSError, ValueError):
                path.rename(path.with_suffix(".bad"))
                continue
            status, _headers, body = self._delivery.post(records)
            if status == 202:
                self._report_rejected(records, body)
                self.delivered += len(records)
                path.unlink()
            elif status in (400, 413) or 401 <= status <= 404:
                self._report_failure(records, status, body)
                path.rename(path.with_suffix(".rejected"))
            else:
                return

    # flush and close ------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is delivered (or spooled); True if it was."""
        if self._thread is None:
            return not self._queue
        deadline = time.monotonic() + (timeout if timeout is not None else self.close_timeout)
        self._wake.set()
        with self._idle:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(min(remaining, 0.05))
                self._wake.set()
        return True

    def close(self) -> None:
        """Flush within `close_timeout`, spool what is left, and stop the sender."""
        if self._closing:
            return
        self._deadline = time.monotonic() + self.close_timeout
        flushed = self.flush(self.close_timeout)
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        if not flushed and self.spool:
            with self._queue_lock:
                left = list(self._queue)
                self._queue.clear()
            if left:
                records = [to_pipeline(i, self.service, str(uuid.uuid4())) for i in left]
                self._write_spool(records)
        self._delivery.close()
        atexit.unregister(self.close)
        super().close()

    @property
    def dropped(self) -> int:
        return self._dropped


def _warn(message: str) -> None:
    with contextlib.suppress(Exception):
        sys.stderr.write(f"tradinglog: {message}\n")
