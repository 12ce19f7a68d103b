"""JSON lines for log shippers: one object per record, flow lines with their fields."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

FLOW_FIELD = "imnot_flow"  # LogRecord attribute carrying a flow's journal entry


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        flow = getattr(record, FLOW_FIELD, None)
        if flow:
            data.update({k: v for k, v in flow.items() if v is not None})
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def use_json_logs(enabled: bool, logger: logging.Logger) -> None:
    """Send this logger's records to stderr as JSON lines (and not on to mitmproxy's log)."""
    for handler in list(logger.handlers):
        if isinstance(handler.formatter, JsonFormatter):
            logger.removeHandler(handler)
    if enabled:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    logger.propagate = not enabled
