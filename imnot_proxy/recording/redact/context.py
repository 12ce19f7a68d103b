"""One redaction pass: the name rules, where found secrets go, how deep documents nest.

Documents nest (JSON in a form value, XML in a JSON string, a JSON file in a
multipart part, base64 of any of them), so each format module hands inner
strings and bodies back through ``Pass.string`` and ``Pass.body`` to the
dispatcher in ``bodies``, which it does not import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .names import Names

MAX_DEPTH = 4


class Nested(Protocol):
    def string(self, text: str, ctx: Pass) -> str: ...

    def body(self, data: bytes, content_type: str, ctx: Pass) -> bytes: ...


@dataclass(frozen=True)
class Pass:
    names: Names
    nested: Nested
    found: list[str]  # every secret value replaced, for scrubbing the copies made later
    depth: int = 0

    def secret(self, value: str) -> None:
        if value:
            self.found.append(value)

    def inner_secret(self, value: str) -> None:
        """A value inside a secret list, object or element: kept for scrubbing only when it
        looks made up, so that "read write" in a secret object is not scrubbed everywhere."""
        if len(value) >= 12 or (value and not value.replace(" ", "").isalpha()):
            self.found.append(value)

    def deeper(self) -> Pass:
        return Pass(self.names, self.nested, self.found, self.depth + 1)

    def string(self, text: str) -> str:
        """A string value that may hold a secret by shape or a whole document."""
        return self.nested.string(text, self)

    def body(self, data: bytes, content_type: str = "") -> bytes:
        return self.nested.body(data, content_type, self.deeper())
