"""One render of a template: its limits, its budget and the context it reads, found by the
helpers through a context variable (``CURRENT``) while the render runs."""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass
from typing import Any

from . import template_request as r

CONTEXT_NAMES = ("request", "id", "captured", "payload", "payload_text")  # see Render.var
MAX_FORMAT_WIDTH = 1000


@dataclass(frozen=True)
class Limits:
    max_output: int = 1_048_576  # bytes of rendered text per render
    max_seconds: float = 0.5
    max_range: int = 1000
    max_iterations: int = 100_000
    max_loop_depth: int = 2
    max_size: int = 1_048_576  # characters of a string, or the content of a list/dict
    max_int_bits: int = 128


LIMITS = Limits()


class LimitExceeded(Exception):
    """A guard refused to go on (never a ValueError/TypeError, which Jinja may swallow)."""


class Render:
    """One render: its context, budget and the values built from the context once."""

    __slots__ = ("ctx", "limits", "deadline", "iterations", "output", "values")

    def __init__(self, ctx: Any, limits: Limits):  # ctx: templates.TemplateContext
        self.ctx, self.limits = ctx, limits
        self.deadline = time.monotonic() + limits.max_seconds
        self.iterations = self.output = 0
        self.values: dict[str, Any] = {}

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise LimitExceeded(f"rendering took longer than {self.limits.max_seconds} s")

    def var(self, name: str) -> Any:
        if name not in self.values:
            ctx = self.ctx
            self.values[name] = (
                r.RequestProxy(ctx.request) if name == "request"
                else ctx.id if name == "id"
                else r.Fields("captured", ctx.captured) if name == "captured"
                else r.parse_payload(ctx.payload, ctx.payload_type) if name == "payload"
                else r.payload_text(ctx.payload))
        return self.values[name]


CURRENT: contextvars.ContextVar[Render | None] = contextvars.ContextVar("imnot_render",
                                                                          default=None)


def state_of_render() -> Render:
    state = CURRENT.get()
    if state is None:
        raise LimitExceeded("this helper only works while a response is rendered")
    return state


def limits_of_render() -> Limits:
    state = CURRENT.get()
    return LIMITS if state is None else state.limits
