"""Pydantic models of a partner file: the shape of the YAML, nothing more.

Every key of the original imnot 1.5.0 partner file is modelled, plus this
project's extensions (``hosts``, ``mode``, static ``headers``, polling
``pending``/``failed``/``strict_order``, ``callback_retries``). Models forbid
unknown keys so that typos are found; the loader turns unknown keys into
warnings where the original silently ignored them. Rules that span several
fields (step numbers, ``{id}`` placement, route conflicts) live in ``rules.py``
so that each problem can point at the exact line.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    WithJsonSchema,
    field_validator,
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
    """A fixed reply: status, headers and an optional body."""

    status: Status = 200
    headers: Headers = Field(default_factory=dict)
    body: Any = None


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


class OAuthResponse(StrictModel):
    status: Status = 200
    token_type: str = "Bearer"
    expires_in: int = 3600
    access_token: str | None = None
    headers: Headers = Field(default_factory=dict)


class StaticResponse(StrictModel):
    status: Status = 200
    body: Any = None
    headers: Headers = Field(default_factory=dict)


class FetchResponse(StrictModel):
    status: Status = 200
    headers: Headers = Field(default_factory=dict)


class PollingResponse(StrictModel):
    status: Status | None = None  # 202 for a submit step, else 200
    generates_id: bool = False
    returns_payload: bool = False
    id_header: str | None = None
    id_header_value: str | None = None
    id_body_field: str | None = None
    headers: Headers = Field(default_factory=dict)
    body: Any = None
    pending: list[PendingAnswer] | None = None
    failed: Answer | None = None


class CallbackResponse(StrictModel):
    status: Status = 202
    callback_url_field: str | None = None
    callback_url_header: str | None = None
    callback_method: str = "POST"
    callback_delay_seconds: float = Field(default=0, ge=0)
    callback_retries: StrictInt = Field(default=3, ge=0, le=20)
    headers: Headers = Field(default_factory=dict)

    @field_validator("callback_method")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class PaginatedResponse(StrictModel):
    status: Status = 200
    headers: Headers = Field(default_factory=dict)


# --- endpoint extras -------------------------------------------------------

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


class EndpointBase(StrictModel):
    method: str = Field(min_length=1)
    path: str = Field(min_length=1)
    step: StrictInt | None = None
    validation: ValidateBlock | None = Field(default=None, alias="validate")
    rate_limit: RateLimit | None = None

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


class Partner(StrictModel):
    """One partner file: the API of one external system."""

    partner: str = Field(min_length=1)
    description: str = ""
    hosts: Annotated[list[HostName], WithJsonSchema({"anyOf": [
        {"type": "string"}, {"type": "array", "items": {"type": "string"}}]})] = Field(
        default_factory=list)
    mode: Literal["mock", "record"] | None = None
    datapoints: list[Datapoint] = Field(min_length=1)

    @field_validator("hosts", mode="before")
    @classmethod
    def _host_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [value]
        return value



def json_schema() -> dict[str, Any]:
    """JSON Schema of a partner file, for editors with a YAML language server."""
    schema = Partner.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "imnot_proxy partner file"
    return schema
