"""One recorded exchange as the inference handles it: numbered, with path segments and ids."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..exchange import Exchange


@dataclass
class Flow:
    n: int
    ex: Exchange
    segments: tuple[str, ...]
    params: dict[int, str] = field(default_factory=dict)  # position -> why it is a parameter

    @cached_property
    def host(self) -> str:
        return self.ex.host

    @cached_property
    def json(self) -> Any:
        return self.ex.response_json()

    @cached_property
    def value(self) -> Any:
        """The response body as JSON, else as text when it is XML, else None."""
        if self.json is not None:
            return self.json
        data = self.ex.response_body
        return data.decode("utf-8", "replace") if data.lstrip()[:1] == b"<" else None

    @property
    def method(self) -> str:
        return self.ex.method

    @property
    def status(self) -> int:
        return self.ex.status or 0

    @property
    def shape(self) -> tuple[str | None, ...]:
        return tuple(None if i in self.params else s for i, s in enumerate(self.segments))

    @property
    def label(self) -> str:
        return f"{self.method} {self.ex.path}"


def norm(name: str) -> str:
    """A field name without case, ``-``, ``_`` or spaces, for matching known names."""
    return re.sub(r"[-_ ]", "", name).lower()
