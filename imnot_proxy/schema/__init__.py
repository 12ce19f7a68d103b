"""Pydantic models of a partner file: the shape of the YAML, nothing more.

Every key of the original imnot 1.5.0 partner file is modelled, plus this
project's extensions (``hosts``, ``mode``, static ``headers``, polling
``pending``/``failed``/``strict_order``, ``callback_retries``). Models forbid
unknown keys so that typos are found; the loader turns unknown keys into
warnings where the original silently ignored them. Rules that span several
fields (step numbers, ``{id}`` placement, route conflicts) live in ``rules.py``
so that each problem can point at the exact line.
"""

from .base import (
    HOST_RE,
    PARTNER_NAME_RE,
    PATTERNS,
    PAYLOAD_PATTERNS,
    Answer,
    Headers,
    HeaderValue,
    HostName,
    PendingAnswer,
    Status,
    StrictModel,
)
from .extras import Pagination, RateLimit, Rule, RuleType, ValidateBlock
from .partner import Partner, json_schema
from .patterns import (
    DATAPOINT_MODELS,
    CallbackDatapoint,
    CallbackEndpoint,
    Datapoint,
    DatapointBase,
    EndpointBase,
    FetchDatapoint,
    FetchEndpoint,
    OAuthDatapoint,
    OAuthEndpoint,
    PaginatedDatapoint,
    PaginatedEndpoint,
    PollingDatapoint,
    PollingEndpoint,
    StaticDatapoint,
    StaticEndpoint,
    StrictOrder,
)
from .responses import (
    CallbackResponse,
    FetchResponse,
    OAuthResponse,
    PaginatedResponse,
    PollingResponse,
    StaticResponse,
)

__all__ = [
    "DATAPOINT_MODELS", "HOST_RE", "PARTNER_NAME_RE", "PATTERNS", "PAYLOAD_PATTERNS", "Answer",
    "CallbackDatapoint", "CallbackEndpoint", "CallbackResponse", "Datapoint", "DatapointBase",
    "EndpointBase", "FetchDatapoint", "FetchEndpoint", "FetchResponse", "HeaderValue", "Headers",
    "HostName", "OAuthDatapoint", "OAuthEndpoint", "OAuthResponse", "PaginatedDatapoint",
    "PaginatedEndpoint", "PaginatedResponse", "Pagination", "Partner", "PendingAnswer",
    "PollingDatapoint", "PollingEndpoint", "PollingResponse", "RateLimit", "Rule", "RuleType",
    "StaticDatapoint", "StaticEndpoint", "StaticResponse", "Status", "StrictModel", "StrictOrder",
    "ValidateBlock", "json_schema",
]
