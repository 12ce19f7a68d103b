"""Request bodies in the journal, when asked for (option ``imnot_journal_bodies``).

A test that asserts "called with a body matching ..." needs what the client sent; the
journal keeps, per mocked or missed partner request, the first N bytes of its body after
redaction, exactly as recordings are redacted (``recording.redact``), so a password or token
sent to a mock never reaches an admin reply, a JSON log line or a test report in clear.
Off by default, and then it costs one attribute test per request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from .journal import JournalEntry
from .recording.redact import PLACEHOLDER, Redactor

logger = logging.getLogger(__name__)

REDACT_LIMIT = 256 * 1024  # larger bodies are not searched for secrets, so never kept
MAX_KEPT = 1024 * 1024  # the option's upper bound


@dataclass(frozen=True)
class BodyCapture:
    """Keeps the first ``limit`` bytes of each request body, redacted."""

    limit: int
    redactor: Redactor

    @classmethod
    def of(cls, limit: int, redact_headers: Any = (), redact_fields: Any = ()
           ) -> BodyCapture | None:
        """The capture for the option's value; None when it is off (0)."""
        if limit <= 0:
            return None
        return cls(limit, Redactor.default(redact_headers, redact_fields))

    def add(self, entry: JournalEntry, body: bytes, content_type: str | None) -> JournalEntry:
        return replace(entry, body=self.text(body, content_type), body_kept=True)

    def text(self, body: bytes, content_type: str | None) -> str | None:
        """What the journal shows of a body: redacted text, cut at ``limit`` bytes."""
        if not body:
            return None
        if len(body) > REDACT_LIMIT:
            return (f"[{len(body):,} bytes, not kept: bodies over {REDACT_LIMIT:,} bytes are "
                    "not searched for secrets]")
        try:
            clean = self.redactor.body(body, content_type)
        except Exception as exc:  # noqa: BLE001 - fail closed, as recordings do
            logger.warning("imnot_proxy: a request body could not be checked for secrets (%s); "
                           "not kept in the journal", type(exc).__name__)
            return f"{PLACEHOLDER} (body could not be checked for secrets)"
        try:
            text = clean.decode("utf-8")
        except UnicodeDecodeError:
            return f"[{len(body):,} bytes, not UTF-8 text]"
        if len(clean) <= self.limit:
            return text
        cut = clean[:self.limit].decode("utf-8", "ignore")  # never half a character
        return f"{cut}… [{len(clean):,} bytes in all]"
