"""Endpoints and datapoints, one model per pattern, told apart by ``pattern:``."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, StrictInt, field_validator

from .base import Answer, StrictModel
from .choice import Alternative, CaptureSource, Condition
from .extras import Pagination, RateLimit, ValidateBlock
from .faults import Fault, Latency
from .responses import (
    CallbackResponse,
    FetchResponse,
    OAuthResponse,
    PaginatedResponse,
    PollingResponse,
    StaticResponse,
)


def _step_number(value: Any) -> Any:
    """``step: "1"`` is step 1, as the original reads it (the loader warns)."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


class EndpointBase(StrictModel):
    method: str = Field(min_length=1)
    path: str = Field(min_length=1)
    step: Annotated[StrictInt | None, BeforeValidator(_step_number)] = None
    validation: ValidateBlock | None = Field(default=None, alias="validate")
    rate_limit: RateLimit | None = None
    # this endpoint answers only when ``when`` holds (several endpoints may share a path)
    when: Condition | None = None
    # the named payload it answers with ("" / absent: the datapoint's default payload)
    payload: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    faults: list[Fault] | None = None
    latency: Latency | None = None

    @field_validator("method")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.strip().upper()

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("path must start with '/'")
        if len(value) > 1 and value.endswith("/"):
            value = value.rstrip("/") or "/"
        return value


class OAuthEndpoint(EndpointBase):
    response: OAuthResponse = Field(default_factory=OAuthResponse)
    alternatives: list[Alternative[OAuthResponse]] | None = Field(default=None, min_length=1)


class StaticEndpoint(EndpointBase):
    response: StaticResponse = Field(default_factory=StaticResponse)
    alternatives: list[Alternative[StaticResponse]] | None = Field(default=None, min_length=1)


class FetchEndpoint(EndpointBase):
    response: FetchResponse = Field(default_factory=FetchResponse)
    alternatives: list[Alternative[FetchResponse]] | None = Field(default=None, min_length=1)


class PollingEndpoint(EndpointBase):
    response: PollingResponse = Field(default_factory=PollingResponse)
    alternatives: list[Alternative[PollingResponse]] | None = Field(default=None, min_length=1)
    capture: dict[str, CaptureSource] | None = None  # request values kept as flow state


class CallbackEndpoint(EndpointBase):
    response: CallbackResponse = Field(default_factory=CallbackResponse)
    alternatives: list[Alternative[CallbackResponse]] | None = Field(default=None, min_length=1)
    capture: dict[str, CaptureSource] | None = None  # request values kept as flow state


class PaginatedEndpoint(EndpointBase):
    response: PaginatedResponse = Field(default_factory=PaginatedResponse)
    alternatives: list[Alternative[PaginatedResponse]] | None = Field(default=None, min_length=1)


# --- datapoints --------------------------------------------------------------


class DatapointBase(StrictModel):
    pattern_name: ClassVar[str] = ""
    name: str = Field(min_length=1)
    description: str = ""
    # how errors are answered: JSON, XML, a SOAP fault, or as the request is (auto)
    errors: Literal["auto", "json", "xml", "soap"] = "auto"
    namespaces: dict[str, str] = Field(default_factory=dict)  # XPath prefixes
    faults: list[Fault] | None = None
    latency: Latency | None = None


class OAuthDatapoint(DatapointBase):
    pattern: Literal["oauth"]
    endpoints: list[OAuthEndpoint] = Field(min_length=1)


class StaticDatapoint(DatapointBase):
    pattern: Literal["static"]
    endpoints: list[StaticEndpoint] = Field(min_length=1)


class FetchDatapoint(DatapointBase):
    pattern: Literal["fetch"]
    endpoints: list[FetchEndpoint] = Field(min_length=1)


class StrictOrder(StrictModel):
    """Replies for calls made out of order (``strict_order:`` on a polling datapoint)."""

    unknown_id: Answer = Field(
        default_factory=lambda: Answer(status=404, body={"detail": "Unknown request ID: {id}"})
    )
    not_ready: Answer = Field(
        default_factory=lambda: Answer(status=409, body={"detail": "Request {id} is not ready yet"})
    )


class PollingDatapoint(DatapointBase):
    pattern: Literal["polling"]
    endpoints: list[PollingEndpoint] = Field(min_length=1)
    # `true` for the default replies, or a mapping that sets them; the engine sees a
    # StrictOrder or None.
    strict_order: bool | StrictOrder | None = None

    @field_validator("strict_order")
    @classmethod
    def _strict_order(cls, value: bool | StrictOrder | None) -> StrictOrder | None:
        if value is True:
            return StrictOrder()
        return value or None


class CallbackDatapoint(DatapointBase):
    pattern: Literal["callback"]
    endpoints: list[CallbackEndpoint] = Field(min_length=1)


class PaginatedDatapoint(DatapointBase):
    pattern: Literal["paginated"]
    endpoints: list[PaginatedEndpoint] = Field(min_length=1)
    pagination: Pagination


Datapoint = Annotated[
    OAuthDatapoint | StaticDatapoint | FetchDatapoint | PollingDatapoint | CallbackDatapoint
    | PaginatedDatapoint,
    Field(discriminator="pattern"),
]

DATAPOINT_MODELS: dict[str, type[DatapointBase]] = {
    "oauth": OAuthDatapoint,
    "static": StaticDatapoint,
    "fetch": FetchDatapoint,
    "polling": PollingDatapoint,
    "callback": CallbackDatapoint,
    "paginated": PaginatedDatapoint,
}

