"""Record mode in a running proxy: the writer, opened on the first recorded flow.

The recordings directory and the redaction names come from the options; a
change of either closes the current files (after writing what is queued), and
the next recorded flow starts new ones. Writing happens off the event loop
(``writer.QueuedRecorder`` feeding a child process, ``sinks.ProcessSink``);
``failure`` says why recording stopped, if it did.
"""

from __future__ import annotations

from pathlib import Path

from .capture import Captured
from .exchange import Exchange
from .sinks import ProcessSink
from .writer import QueuedRecorder, RecordingFailed


class LiveRecording:
    def __init__(self) -> None:
        self._directory: Path | None = None
        self._redact: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
        self._recorder: QueuedRecorder | None = None

    def configure(self, directory: Path, redact_headers: tuple[str, ...],
                  redact_fields: tuple[str, ...]) -> None:
        if (directory, (redact_headers, redact_fields)) != (self._directory, self._redact):
            self.close()
            self._directory = directory
            self._redact = (redact_headers, redact_fields)

    @property
    def failure(self) -> str | None:
        """Why recording stopped (a write failed), or None."""
        return self._recorder.failure if self._recorder is not None else None

    def record(self, partner: str, item: Captured | Exchange) -> None:
        """Queue one captured flow (or exchange) to be redacted and appended; raises OSError
        once recording has failed."""
        if self._recorder is None:
            if self._directory is None:
                raise RecordingFailed("no recordings directory configured")
            self._recorder = QueuedRecorder(ProcessSink(self._directory, *self._redact))
        self._recorder.submit(partner, item)

    def flush(self) -> None:
        """Wait until everything queued is written."""
        if self._recorder is not None:
            self._recorder.flush()

    def files(self) -> list[Path]:
        return self._recorder.files() if self._recorder is not None else []

    def close(self) -> None:
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
