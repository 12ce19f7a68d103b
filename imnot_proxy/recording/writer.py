"""Recorded exchanges written off the event loop: a bounded queue and one writer thread.

The proxy's hook only copies the flow into an ``Exchange`` and queues it.
Redaction, HAR encoding and the write happen in the thread, which takes every
exchange waiting and appends them per partner with one write. The queue is
bounded: when the disk falls behind, the hook waits (the proxy slows down)
rather than holding unbounded traffic in memory. ``flush`` waits until every
queued exchange is on disk; ``close`` flushes and stops the thread (``done``).

A write that fails is not retried: the error is logged once and kept, and
``failure`` reports it, so the proxy stops letting record-mode traffic through
unrecorded (mitmproxy's ``save`` addon takes the same stance).
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

from .exchange import Exchange
from .recorder import Recorder

logger = logging.getLogger(__name__)

CAPACITY = 4096  # exchanges waiting at most
BATCH = 256  # exchanges written together at most
_STOP = object()


class RecordingFailed(OSError):
    """The recording could not be written; nothing more is recorded."""


class QueuedRecorder:
    """A ``Recorder`` fed through a queue by one writer thread."""

    def __init__(self, recorder: Recorder, capacity: int = CAPACITY):
        self.recorder = recorder
        self._queue: queue.Queue = queue.Queue(capacity)
        self._failure: str | None = None
        self._thread = threading.Thread(target=self._run, name="imnot recorder", daemon=True)
        self._thread.start()

    @property
    def failure(self) -> str | None:
        """Why recording stopped, or None while it works."""
        return self._failure

    def submit(self, partner: str, exchange: Exchange) -> None:
        """Queue one exchange; raises RecordingFailed once a write has failed."""
        if self._failure is not None:
            raise RecordingFailed(self._failure)
        self._queue.put((partner, exchange))

    def flush(self) -> None:
        """Wait until every exchange queued so far is written (or has failed)."""
        self._queue.join()

    def files(self) -> list[Path]:
        return self.recorder.files()

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        self.recorder.close()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(item is _STOP for item in batch)
            try:
                self._write([item for item in batch if item is not _STOP])
            finally:
                for _ in batch:
                    self._queue.task_done()
            if stop:
                return

    def _write(self, batch: list[tuple[str, Exchange]]) -> None:
        if self._failure is not None or not batch:
            return
        by_partner: dict[str, list[Exchange]] = {}
        for partner, exchange in batch:
            by_partner.setdefault(partner, []).append(exchange)
        for partner, exchanges in by_partner.items():
            try:
                self.recorder.record_many(partner, exchanges)
            except OSError as exc:
                self._failure = f"cannot write the recording of {partner} in " \
                                f"{self.recorder.directory}: {exc.strerror or exc}"
                logger.error("imnot_proxy: %s; record-mode requests are refused from now on",
                             self._failure)
                return
            except Exception as exc:  # noqa: BLE001 - a bug must not silently stop recording
                self._failure = f"cannot record {partner}: {type(exc).__name__}: {exc}"
                logger.exception("imnot_proxy: %s", self._failure)
                return
