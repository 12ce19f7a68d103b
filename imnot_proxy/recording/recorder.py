"""One HAR file per partner per run under the recordings directory, appended per flow."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

from .exchange import Exchange
from .har import HarWriter
from .redact import Redactor

logger = logging.getLogger(__name__)


class Recorder:
    def __init__(self, directory: Path, redactor: Redactor):
        self.directory = directory
        self.redactor = redactor
        self.run = time.strftime("%Y%m%d-%H%M%S")
        self._writers: dict[str, HarWriter] = {}

    def record(self, partner: str, exchange: Exchange) -> Path:
        """Redact and append one exchange to the partner's file of this run."""
        return self.record_many(partner, [exchange])

    def record_many(self, partner: str, exchanges: list[Exchange]) -> Path:
        """Redact and append exchanges of one partner, written together."""
        writer = self._writers.get(partner)
        if writer is None:
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", partner)
            path = self.directory / f"{name}-{self.run}.har"
            n = 2
            while path.exists():
                path = self.directory / f"{name}-{self.run}-{n}.har"
                n += 1
            writer = self._writers[partner] = HarWriter(path)
            logger.info("imnot_proxy: recording %s to %s", partner, path)
        writer.append_many([self.redactor.exchange(ex) for ex in exchanges])
        return writer.path

    def files(self) -> list[Path]:
        return [w.path for w in self._writers.values()]

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

