"""The recording writer's child process: ``python -m imnot_proxy.recording.writer_child``.

Reads frames from stdin (``sinks.read_frame``): ``("init", directory, redact_headers,
redact_fields)``, then ``("batch", [(partner, captured flow), ...])`` any number of times,
then ``("stop",)``. Answers each init and batch on stdout with ``("ok", [files])`` or
``("error", why)``; after an error it answers every batch with the same error. It runs
niced (``NICE``), so that on a machine short of cores the proxy comes first.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .recorder import Recorder
from .redact import Redactor
from .sinks import SinkFailed, read_frame, send_frame, write_batch

NICE = 10  # the child yields the cores to the proxy when both want them


def serve(stdin, stdout) -> int:  # noqa: ANN001 - binary streams
    recorder: Recorder | None = None
    failure: str | None = None
    while True:
        frame = read_frame(stdin)
        if frame is None or frame[0] == "stop":
            break
        if frame[0] == "init":
            _, directory, headers, fields = frame
            recorder = Recorder(Path(directory), Redactor.default(headers, fields))
        elif frame[0] == "batch" and recorder is not None and failure is None:
            try:
                write_batch(recorder, frame[1])
            except SinkFailed as exc:
                failure = str(exc)
            except Exception as exc:  # noqa: BLE001 - reported to the proxy, which refuses more
                failure = f"cannot record: {type(exc).__name__}: {exc}"
        if failure is not None:
            send_frame(stdout, ("error", failure))
        else:
            send_frame(stdout, ("ok", [str(p) for p in recorder.files()] if recorder else []))
    if recorder is not None:
        recorder.close()
    return 0


def _yield_to_the_proxy() -> None:
    """Run at a lower priority: recording may lag a moment behind a busy proxy (its queue
    waits), serving should not."""
    try:
        os.nice(NICE)
    except (AttributeError, OSError):  # no nice() on this system, or not allowed
        pass


if __name__ == "__main__":
    _yield_to_the_proxy()
    sys.exit(serve(sys.stdin.buffer, sys.stdout.buffer))
