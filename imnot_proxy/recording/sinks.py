"""Where the writer thread's batches go: the recorder in this process, or a child process.

Decoding, redaction and HAR encoding are Python work: in a thread they still hold
the interpreter lock the proxy needs, so they slow it down as much as on the event
loop. ``ProcessSink`` does them in a child process (``python -m
imnot_proxy.recording.writer_child``) on another core: the proxy only pickles each
batch of captured flows onto a pipe, and reads back how many were written, the
files, or why writing failed. ``LocalSink`` does the same work in the thread, for
tests and where no child can be started.

Frames on both pipes: a 4-byte big-endian length, then a pickle.
"""

from __future__ import annotations

import logging
import os
import pickle
import struct
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import IO, Any, Protocol

from .capture import Captured, exchange
from .exchange import Exchange
from .recorder import Recorder
from .redact import Redactor

logger = logging.getLogger(__name__)

Batch = list[tuple[str, Captured | Exchange]]
_LENGTH = struct.Struct(">I")


class SinkFailed(Exception):
    """The batch could not be written; the message says why."""


class Sink(Protocol):
    def write(self, batch: Batch) -> None: ...
    def files(self) -> list[Path]: ...
    def close(self) -> None: ...


def as_exchanges(batch: Batch) -> dict[str, list[Exchange]]:
    """A batch decoded and grouped per partner, in order (a captured flow may come as the
    plain tuple of its fields, as the pipe carries it)."""
    out: dict[str, list[Exchange]] = {}
    for partner, item in batch:
        if isinstance(item, Exchange):
            ex = item if item.partner == partner else replace(item, partner=partner)
        else:
            ex = exchange(item if isinstance(item, Captured) else Captured._make(item), partner)
        out.setdefault(partner, []).append(ex)
    return out


def write_batch(recorder: Recorder, batch: Batch) -> None:
    """Append a batch; raises SinkFailed naming the partner and the reason."""
    for partner, exchanges in as_exchanges(batch).items():
        try:
            recorder.record_many(partner, exchanges)
        except OSError as exc:
            raise SinkFailed(f"cannot write the recording of {partner} in "
                             f"{recorder.directory}: {exc.strerror or exc}") from exc


class LocalSink:
    """The work done in the calling thread."""

    def __init__(self, recorder: Recorder):
        self.recorder = recorder

    def write(self, batch: Batch) -> None:
        write_batch(self.recorder, batch)

    def files(self) -> list[Path]:
        return self.recorder.files()

    def close(self) -> None:
        self.recorder.close()


def send_frame(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)  # no joined copy of a large pickle: it follows the length unbuffered
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any:
    """The next frame, or None at the end of the stream."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    size = _LENGTH.unpack(head)[0]
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)  # noqa: S301 - frames come from our own child process


class ProcessSink:
    """The work done by a child process, started on the first batch."""

    def __init__(self, directory: Path, redact_headers: tuple[str, ...],
                 redact_fields: tuple[str, ...]):
        self.spec = (str(directory), tuple(redact_headers), tuple(redact_fields))
        self._child: subprocess.Popen[bytes] | None = None
        self._local: LocalSink | None = None  # when no child could be started
        self._files: list[Path] = []

    def _start(self) -> subprocess.Popen[bytes]:
        if not os.access(sys.executable, os.X_OK):
            raise SinkFailed(f"this user cannot run {sys.executable}")
        # The child imports this package from wherever this process found it.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "imnot_proxy.recording.writer_child"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True, env=env)
        assert child.stdin is not None and child.stdout is not None
        send_frame(child.stdin, ("init", *self.spec))
        self._answer(child)
        return child

    def write(self, batch: Batch) -> None:
        if self._local is not None:
            self._local.write(batch)
            return
        child = self._child
        if child is None:
            try:
                child = self._child = self._start()
            except (OSError, SinkFailed) as exc:
                logger.warning("imnot_proxy: no recording writer process (%s); recording in "
                               "the proxy's own process", exc)
                directory, headers, fields = self.spec
                self._local = LocalSink(Recorder(Path(directory),
                                                 Redactor.default(headers, fields)))
                self._local.write(batch)
                return
        # Plain tuples pickle in about half the time of named ones.
        plain = [(p, tuple(i) if isinstance(i, Captured) else i) for p, i in batch]
        try:
            send_frame(child.stdin, ("batch", plain))  # type: ignore[arg-type]
        except (OSError, ValueError) as exc:
            raise SinkFailed(self._gone(child, exc)) from exc
        self._answer(child)

    def _answer(self, child: subprocess.Popen[bytes]) -> None:
        reply = read_frame(child.stdout)  # type: ignore[arg-type]
        if reply is None:
            raise SinkFailed(self._gone(child, None))
        kind, detail = reply
        if kind == "error":
            raise SinkFailed(detail)
        self._files = [Path(p) for p in detail]

    @staticmethod
    def _gone(child: subprocess.Popen[bytes], exc: Exception | None) -> str:
        code = child.poll()
        why = f"exited with code {code}" if code is not None else f"stopped answering ({exc})"
        return f"the recording writer process {why}"

    def files(self) -> list[Path]:
        return self._local.files() if self._local is not None else list(self._files)

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
        child, self._child = self._child, None
        if child is None:
            return
        try:
            send_frame(child.stdin, ("stop",))  # type: ignore[arg-type]
            child.stdin.close()  # type: ignore[union-attr]
            child.wait(timeout=30)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            child.kill()
            child.wait()
        finally:
            child.stdout.close()  # type: ignore[union-attr]
