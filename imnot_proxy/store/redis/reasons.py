"""What a redis-py error may say in our errors and log lines: Redis's reason, never the
command that met it. redis-py words a failed command of a pipeline or ``MULTI`` as
``Command # 1 (HSET key body <the payload>…) of pipeline caused error: <reason>``, and a
payload is request data."""

from __future__ import annotations

PIPELINE = " of pipeline caused error: "


def reason(exc: BaseException) -> str:
    """One line: the error's own text, without a pipeline's quoted command."""
    text = str(exc).strip()
    head, found, tail = text.rpartition(PIPELINE)
    if found and head.startswith("Command # "):
        text = tail.strip()  # the last one: a payload may contain the phrase, Redis's reason not
    return text.splitlines()[0] if text else type(exc).__name__
