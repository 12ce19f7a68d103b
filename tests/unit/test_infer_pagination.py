"""Recorded pages of a list: offset/limit, page numbers, next/previous URLs and cursors."""

from __future__ import annotations

from imnot_proxy.recording.infer import infer

from .infer_support import BASE, datapoint, ex, offset_pages, payload


def test_offset_limit_pages_deduplicated_in_order() -> None:
    items = [{"n": i} for i in range(5)]
    result = infer(offset_pages(items, order=(0, 2, 0, 4)), "p")
    assert datapoint(result, "items")["pagination"] == {
        "style": "offset_limit", "items_field": "items", "total_field": "total",
        "has_more_field": "hasMore", "next_offset_field": "nextOffset",
        "offset_echo_field": "offset", "limit_echo_field": "limit"}
    assert payload(result, "items") == items


def test_page_and_per_page() -> None:
    rooms = [{"id": f"R{i}"} for i in range(3)]
    result = infer([
        ex("GET", "/rooms?page=1&per_page=2", 200, {"results": rooms[:2], "count": 3}),
        ex("GET", "/rooms?page=2&per_page=2", 200, {"results": rooms[2:], "count": 3}),
    ], "p")
    assert datapoint(result, "rooms")["pagination"] == {
        "style": "page_number", "items_field": "results", "total_field": "count",
        "size_param": "per_page"}
    assert payload(result, "rooms") == rooms


def test_page_number_with_next_and_previous_urls() -> None:
    result = infer([
        ex("GET", "/guests?pageNumber=1&pageSize=1", 200, {
            "entries": [{"g": 1}], "next": f"{BASE}/guests?pageNumber=2&pageSize=1",
            "previous": None, "totalItems": 2}),
        ex("GET", "/guests?pageNumber=2&pageSize=1", 200, {
            "entries": [{"g": 2}], "next": None,
            "previous": f"{BASE}/guests?pageNumber=1&pageSize=1", "totalItems": 2}),
    ], "p")
    assert datapoint(result, "guests")["pagination"] == {
        "style": "page_number_url", "items_field": "entries", "total_field": "totalItems",
        "page_param": "pageNumber", "size_param": "pageSize", "next_url_field": "next",
        "previous_url_field": "previous"}
    assert payload(result, "guests") == [{"g": 1}, {"g": 2}]


def test_cursor_from_a_response_field_that_comes_back_as_a_query_param() -> None:
    result = infer([
        ex("GET", "/events?limit=2", 200, {"data": [1, 2], "nextCursor": "c-2", "hasMore": True}),
        ex("GET", "/events?limit=2&cursor=c-2", 200, {"data": [3], "nextCursor": None,
                                                      "hasMore": False}),
    ], "p")
    assert datapoint(result, "events")["pagination"] == {
        "style": "cursor", "items_field": "data", "cursor_field": "nextCursor",
        "has_more_field": "hasMore"}
    assert payload(result, "events") == [1, 2, 3]


def test_a_list_without_paging_params_is_a_fetch() -> None:
    result = infer([ex("GET", "/countries", 200, {"items": ["NL", "DE"]})], "p")
    assert datapoint(result, "countries")["pattern"] == "fetch"
