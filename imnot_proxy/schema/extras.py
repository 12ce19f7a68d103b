"""What an endpoint may carry besides its response: ``validate``, ``rate_limit``, and a
paginated datapoint's ``pagination``."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    Field,
    StrictInt,
    field_validator,
    model_validator,
)

from .base import StrictModel

RuleType = Literal["string", "integer", "number", "boolean", "array", "object"]


class Rule(StrictModel):
    required: bool = False
    type: RuleType | None = None
    allowed: list[Any] | None = None
    pattern: str | None = None
    min: float | None = None
    max: float | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class ValidateBlock(StrictModel):
    body: dict[str, Rule] | None = None
    query: dict[str, Rule] | None = None
    headers: dict[str, Rule] | None = None
    xpath: dict[str, Rule] | None = None  # XPath (namespace-free) -> rule on its first value
    xsd: str | None = None  # an XML Schema file, relative to the partner file


class RateLimit(StrictModel):
    requests_per_minute: StrictInt = Field(gt=0)


class Pagination(StrictModel):
    style: Literal["offset_limit", "cursor", "page_number", "page_number_url"]
    items_field: str
    total_field: str | None = None
    has_more_field: str | None = None
    next_offset_field: str | None = None
    offset_echo_field: str | None = None
    limit_echo_field: str | None = None
    cursor_field: str | None = None
    cursor_ttl_seconds: StrictInt = Field(default=3600, ge=0)
    page_param: str = "page"
    size_param: str = "size"
    offset_param: str = "offset"  # extension: query names of offset_limit and cursor styles
    limit_param: str = "limit"
    cursor_param: str = "cursor"
    next_url_field: str | None = None
    previous_url_field: str | None = None
    total_pages: StrictInt | None = Field(default=None, gt=0)
    # extension: this list's page size when the request names none (else imnot_default_limit)
    page_size: StrictInt | None = Field(default=None, gt=0)
    # extension: fixed keys every page carries besides the generated ones (a recorded
    # envelope's `links`, `meta`, `next: null`); a generated key of the same name wins
    envelope: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _style_needs(self) -> Pagination:
        if self.style == "cursor" and not self.cursor_field:
            raise ValueError("'cursor_field' is required for style 'cursor'")
        if self.style == "page_number_url" and not (
            self.next_url_field and self.previous_url_field
        ):
            raise ValueError(
                "'next_url_field' and 'previous_url_field' are both required "
                "for style 'page_number_url'"
            )
        return self


# --- endpoints ---------------------------------------------------------------

