"""A GET route whose recorded answers are pages of one list becomes a ``paginated`` datapoint."""

from __future__ import annotations

from typing import Any

from ..answers import answer
from ..draft import Draft
from ..flows import Flow
from ..ids import path
from ..pagination import pagination


def detect(draft: Draft, flows: list[Flow]) -> bool:
    if flows[0].method != "GET":
        return False
    pages = [f for f in flows if 200 <= f.status < 300 and isinstance(f.json, dict)]
    if not pages:
        return False
    config = pagination(pages)
    if config is None:
        return False
    paging, items, why, gaps = config
    last = pages[-1]
    response: dict[str, Any] = {"status": last.status}
    headers = answer(last.ex, json_type_header=False).headers
    if headers:
        response["headers"] = headers
    comment = (f"paginated ({paging['style']}): {last.method} {path(last, {})} over "
               f"{len(pages)} recorded pages, {len(items)} items")
    dp = draft.single(flows, last, "paginated", response, comment, why, payload=items,
                      pagination=paging)
    dp.gaps += gaps
    return True
