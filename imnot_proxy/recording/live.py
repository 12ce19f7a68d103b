"""Record mode in a running proxy: the writer, opened on the first recorded flow.

The recordings directory and the redaction names come from the options; a
change of either closes the current files, and the next recorded flow starts
new ones.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .exchange import Exchange
from .recorder import Recorder
from .redact import Redactor


class LiveRecording:
    def __init__(self) -> None:
        self._directory: Path | None = None
        self._redact: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
        self._recorder: Recorder | None = None

    def configure(self, directory: Path, redact_headers: tuple[str, ...],
                  redact_fields: tuple[str, ...]) -> None:
        if (directory, (redact_headers, redact_fields)) != (self._directory, self._redact):
            self.close()
            self._directory = directory
            self._redact = (redact_headers, redact_fields)

    def record(self, partner: str, exchange: Exchange) -> Path:
        """Redact and append one exchange; raises OSError when it cannot be written."""
        if self._recorder is None:
            if self._directory is None:
                raise OSError("no recordings directory configured")
            self._recorder = Recorder(self._directory, Redactor.default(*self._redact))
        return self._recorder.record(partner, replace(exchange, partner=partner))

    def files(self) -> list[Path]:
        return self._recorder.files() if self._recorder is not None else []

    def close(self) -> None:
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
