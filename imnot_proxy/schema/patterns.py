"""Endpoints and datapoints, one model per pattern, told apart by ``pattern:``."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import (
    Field,
    StrictInt,
    field_validator,
)

from .base import Answer, StrictModel
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


class EndpointBase(StrictModel):
    method: str = Field(min_length=1)
    path: str = Field(min_length=1)
    step: StrictInt | None = None
    validation: ValidateBlock | None = Field(default=None, alias="validate")
    rate_limit: RateLimit | None = None
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


class StaticEndpoint(EndpointBase):
    response: StaticResponse = Field(default_factory=StaticResponse)


class FetchEndpoint(EndpointBase):
    response: FetchResponse = Field(default_factory=FetchResponse)


class PollingEndpoint(EndpointBase):
    response: PollingResponse = Field(default_factory=PollingResponse)


class CallbackEndpoint(EndpointBase):
    response: CallbackResponse = Field(default_factory=CallbackResponse)


class PaginatedEndpoint(EndpointBase):
    response: PaginatedResponse = Field(default_factory=PaginatedResponse)


# --- datapoints --------------------------------------------------------------


class DatapointBase(StrictModel):
    pattern_name: ClassVar[str] = ""
    name: str = Field(min_length=1)
    description: str = ""
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

