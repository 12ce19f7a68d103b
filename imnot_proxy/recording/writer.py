"""Recorded exchanges written off the event loop, in batches, by one writer thread.

The proxy's hook only captures the flow (``capture.capture``, references to its
parts) and appends it to a list. The thread wakes every ``INTERVAL`` seconds, or at
once when ``BATCH`` flows are waiting, flush or close is asked for, and hands what is
waiting to its sink (``sinks``), which decodes, redacts and HAR-encodes it and
appends it per partner with one write: in a child process for the proxy, so that
the work runs beside the event loop rather than sharing its interpreter lock.
Waking the thread per flow would cost more than the work it takes off the loop. The list
is bounded: past ``CAPACITY`` waiting flows the hook waits until the thread has
written them (the proxy slows down rather than hold unbounded traffic).
``flush`` waits until everything queued so far is on disk; ``close`` flushes and
stops the thread (the addon's ``done``).

A write that fails is not retried: the error is logged once and kept, and
``failure`` reports it, so the proxy stops letting record-mode traffic through
unrecorded (mitmproxy's ``save`` addon takes the same stance).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from pathlib import Path

from .capture import Captured
from .exchange import Exchange
from .recorder import Recorder
from .sinks import LocalSink, Sink, SinkFailed

logger = logging.getLogger(__name__)

INTERVAL = 0.05  # seconds a captured flow waits at most before it is written
BATCH = 64  # flows waiting that wake the writer at once
CAPACITY = 4096  # flows waiting at most; the hook waits past this


class RecordingFailed(OSError):
    """The recording could not be written; nothing more is recorded."""


class QueuedRecorder:
    """A sink (a ``Recorder`` here, or a child process) fed by the event loop through a
    list that one thread drains."""

    def __init__(self, sink: Recorder | Sink, *, interval: float = INTERVAL,
                 capacity: int = CAPACITY):
        self.sink: Sink = LocalSink(sink) if isinstance(sink, Recorder) else sink
        self.interval = interval
        self.capacity = capacity
        self._pending: deque[tuple[str, Captured | Exchange]] = deque()
        self._wake = threading.Event()
        self._done = threading.Condition()
        self._submitted = 0  # only the loop thread writes this
        self._written = 0  # only the writer thread writes this (under _done)
        self._stopping = False
        self._failure: str | None = None
        self._thread = threading.Thread(target=self._run, name="imnot recorder", daemon=True)
        self._thread.start()

    @property
    def failure(self) -> str | None:
        """Why recording stopped, or None while it works."""
        return self._failure

    def submit(self, partner: str, item: Captured | Exchange) -> None:
        """Queue one captured flow (or exchange); raises RecordingFailed once a write failed."""
        if self._failure is not None:
            raise RecordingFailed(self._failure)
        self._pending.append((partner, item))
        self._submitted += 1
        waiting = len(self._pending)
        if waiting >= BATCH or waiting >= self.capacity:
            self._wake.set()
            if waiting >= self.capacity:
                self._wait_for(self._submitted - self.capacity // 2)

    def flush(self) -> None:
        """Wait until every flow queued so far is written (or has failed)."""
        self._wait_for(self._submitted)

    def _wait_for(self, count: int) -> None:
        self._wake.set()
        with self._done:
            self._done.wait_for(lambda: self._written >= count or self._failure is not None
                                or not self._thread.is_alive())

    def files(self) -> list[Path]:
        return self.sink.files()

    def close(self) -> None:
        if self._thread.is_alive():
            self._stopping = True
            self._wake.set()
            self._thread.join()
        self.sink.close()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            stopping = self._stopping
            while self._pending:
                batch = []
                while self._pending and len(batch) < 4 * BATCH:
                    batch.append(self._pending.popleft())
                self._write(batch)
                with self._done:
                    self._written += len(batch)
                    self._done.notify_all()
            if stopping:
                return

    def _write(self, batch: list[tuple[str, Captured | Exchange]]) -> None:
        if self._failure is not None:
            return
        try:
            self.sink.write(batch)
        except SinkFailed as exc:
            self._fail(str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug must not silently stop recording
            self._fail(f"cannot record: {type(exc).__name__}: {exc}", exc)

    def _fail(self, failure: str, exc: Exception | None = None) -> None:
        self._failure = failure
        logger.error("imnot_proxy: %s; record-mode requests are refused from now on", failure,
                     exc_info=exc)
