"""The whole partner file, and its JSON Schema for editors."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    WithJsonSchema,
    field_validator,
)

from .base import HostName, StrictModel
from .choice import Key
from .faults import Fault, Latency
from .patterns import Datapoint


class Partner(StrictModel):
    """One partner file: the API of one external system."""

    partner: str = Field(min_length=1)
    description: str = ""
    hosts: Annotated[list[HostName], WithJsonSchema({"anyOf": [
        {"type": "string"}, {"type": "array", "items": {"type": "string"}}]})] = Field(
        default_factory=list)
    mode: Literal["mock", "record", "verify"] | None = None
    datapoints: list[Datapoint] = Field(min_length=1)
    namespaces: dict[str, str] = Field(default_factory=dict)  # XPath prefixes, every datapoint
    keys: dict[str, Key] = Field(default_factory=dict)  # for hmac_sha256() in templates
    faults: list[Fault] | None = None
    latency: Latency | None = None

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

