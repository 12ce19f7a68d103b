"""The ``response:`` block of each pattern."""

from __future__ import annotations

from typing import Any

from pydantic import (
    Field,
    StrictInt,
    field_validator,
)

from .base import Answer, Headers, PendingAnswer, Status, StrictModel
from .choice import TemplatedStatus


class OAuthResponse(StrictModel):
    status: Status = 200
    token_type: str = "Bearer"
    expires_in: int = 3600
    access_token: str | None = None
    headers: Headers = Field(default_factory=dict)
    template: bool = False
    body: dict[str, Any] | None = None  # more keys of the token answer (scope, ...)


class StaticResponse(StrictModel):
    status: TemplatedStatus = 200
    body: Any = None
    headers: Headers = Field(default_factory=dict)
    template: bool = False


class FetchResponse(StrictModel):
    status: TemplatedStatus = 200
    headers: Headers = Field(default_factory=dict)
    template: bool = False
    body: Any = None  # with template: true, an answer built around the payload


class PollingResponse(StrictModel):
    status: TemplatedStatus | None = None  # 202 for a submit step, else 200
    generates_id: bool = False
    returns_payload: bool = False
    id_header: str | None = None
    id_header_value: str | None = None
    id_body_field: str | None = None
    id_xpath: str | None = None  # where the id goes in an XML submit body
    headers: Headers = Field(default_factory=dict)
    body: Any = None
    pending: list[PendingAnswer] | None = None
    failed: Answer | None = None
    template: bool = False


class CallbackResponse(StrictModel):
    status: Status = 202
    callback_url_field: str | None = None
    callback_url_header: str | None = None
    callback_method: str = "POST"
    callback_delay_seconds: float = Field(default=0, ge=0)
    callback_retries: StrictInt = Field(default=3, ge=0, le=20)
    headers: Headers = Field(default_factory=dict)
    # the callback request itself: headers (e.g. a signature) and a body instead of the payload
    callback_headers: Headers = Field(default_factory=dict)
    callback_body: Any = None
    template: bool = False
    body: Any = None  # the immediate reply's body ({id}: the request id); default {"request_id"}

    @field_validator("callback_method")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class PaginatedResponse(StrictModel):
    status: TemplatedStatus = 200
    headers: Headers = Field(default_factory=dict)
    template: bool = False


# --- endpoint extras -------------------------------------------------------

