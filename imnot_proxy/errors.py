"""Exceptions and problem reports shared by every module.

    ImnotError
    ├── DefinitionError   partner files that cannot be used; carries every Problem found
    ├── RequestError      a request the mock cannot answer as asked (becomes a JSON error reply)
    └── StoreError        the state store failed

A ``Problem`` is one finding in a partner file (error or warning), located by
file, line and dotted field path, so people can jump straight to it.
"""

from __future__ import annotations

from dataclasses import dataclass


class ImnotError(Exception):
    """Base of every error imnot_proxy raises on purpose."""


@dataclass(frozen=True, order=True)
class Problem:
    """One finding in a partner file: ``file:line field.path: message``."""

    file: str
    line: int
    loc: str
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.loc}:" if self.loc else ""
        return f"{where}{field} {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class DefinitionError(ImnotError, ValueError):
    """Partner definitions were rejected; ``problems`` lists every reason at once."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class RequestError(ImnotError):
    """A consumer or admin request that gets a JSON ``{"detail": ...}`` reply."""

    def __init__(self, status: int, detail: object, headers: dict[str, str] | None = None,
                 extra: dict[str, object] | None = None):
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra or {}  # more fields of the JSON body, beside "detail"
        super().__init__(f"{status}: {detail}")


class StoreError(ImnotError):
    """The state store could not do what was asked; ``store`` names it (no password)."""

    def __init__(self, message: str, *, store: str | None = None):
        self.store = store
        super().__init__(message)
