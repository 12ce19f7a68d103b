"""The pattern detectors, tried in order on the flows of one route; the first to take it wins."""

from __future__ import annotations

from collections.abc import Callable

from ..draft import Draft
from ..flows import Flow
from . import callback, fetch, oauth, paginated, static

Detector = Callable[[Draft, list[Flow]], bool]

DETECTORS: tuple[Detector, ...] = (oauth.detect, callback.detect, paginated.detect,
                                   fetch.detect, static.detect)
