"""Shared pieces of the partner file models: names, header values, statuses, fixed answers."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    WithJsonSchema,
    model_validator,
)

PATTERNS = ("oauth", "static", "fetch", "polling", "callback", "paginated")
# Patterns that answer from an uploaded payload (and get admin payload routes).
PAYLOAD_PATTERNS = frozenset({"fetch", "polling", "callback", "paginated"})
PARTNER_NAME_RE = re.compile(r"[a-zA-Z0-9_-]{1,64}")  # use fullmatch: "$" lets a "\n" through
HOST_RE = re.compile(
    r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def _header_text(value: Any) -> Any:
    """YAML reads ``Retry-After: 5`` as an int; header values are text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _host_name(value: str) -> str:
    host = value.strip().lower().rstrip(".")
    if not HOST_RE.match(host):
        raise ValueError(f"'{value}' is not a host name (use 'api.example.com' or '*.example.com')")
    return host


HostName = Annotated[str, AfterValidator(_host_name)]
HeaderValue = Annotated[str, BeforeValidator(_header_text),
                       WithJsonSchema({"type": ["string", "number", "boolean"]})]
Headers = dict[str, HeaderValue]
Status = Annotated[int, Field(ge=100, le=599)]


class StrictModel(BaseModel):
    """Unknown keys are reported: hand- or AI-written YAML is full of typos."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- responses -------------------------------------------------------------


class Answer(StrictModel):
    """A fixed reply: status, headers and an optional body (a template with
    ``template: true``)."""

    status: Status = 200
    headers: Headers = Field(default_factory=dict)
    body: Any = None
    template: bool = False


class PendingAnswer(Answer):
    """An answer given while a generated id is not ready yet.

    ``polls``: answer this many polls of each id; ``seconds``: answer until this
    many seconds after the id was generated. Exactly one of the two.
    """

    polls: StrictInt | None = Field(default=None, gt=0)
    seconds: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_limit(self) -> PendingAnswer:
        if (self.polls is None) == (self.seconds is None):
            raise ValueError("give exactly one of 'polls' or 'seconds'")
        return self


