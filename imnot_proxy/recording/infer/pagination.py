"""Recorded pages of one list → the paginated pattern's style and fields, and all their items."""

from __future__ import annotations

from typing import Any

from .flows import Flow, norm

ITEM_FIELDS = ("items", "data", "results", "entries", "records", "content", "values", "list",
               "rows", "elements")
TOTAL_FIELDS = frozenset({"total", "count", "totalcount", "totalitems", "totalresults",
                          "totalelements", "totalrecords", "totalsize", "totalhits"})
HAS_MORE_FIELDS = frozenset({"hasmore", "more", "hasnext", "hasnextpage", "morepages",
                             "hasmoreitems", "hasmoreresults"})
NEXT_URL_FIELDS = frozenset({"next", "nexturl", "nextpage", "nextpageurl", "nextlink", "nexthref"})
PREV_URL_FIELDS = frozenset({"previous", "prev", "previousurl", "prevurl", "previouspage",
                             "prevpage", "previouspageurl", "prevpageurl", "previouslink",
                             "prevlink", "previoushref", "prevhref"})
DEFAULT_PAGE_SIZE = 50  # imnot_default_limit's default
PAGE_PARAMS = ("page", "p", "pageNumber", "page_number", "pageNo", "pageIndex", "page_index")
SIZE_PARAMS = ("size", "per_page", "perPage", "pageSize", "page_size", "limit", "count",
               "pagesize")


def pagination(pages: list[Flow]) -> tuple[dict[str, Any], list[Any], str, list[str]] | None:
    """Style, fields, all items of a paged list and what the mock cannot reproduce of it, or
    None when these are not pages."""
    first = pages[0].json
    items_field = _items_field([p.json for p in pages])
    if items_field is None:
        return None
    queries = [dict(p.ex.query) for p in pages]
    cursor = _cursor(pages, items_field)
    names = {k for q in queries for k in q}
    page_param = next((p for p in PAGE_PARAMS if p in names), None)
    size_param = next((p for p in SIZE_PARAMS if p in names and p != page_param), None)
    config: dict[str, Any]
    notes: list[str] = []
    next_field: str | None = None
    prev_field: str | None = None
    used = {items_field}
    if cursor is not None:
        field_name, param = cursor
        config = {"style": "cursor", "items_field": items_field, "cursor_field": field_name}
        used.add(field_name)
        why = f"the response field '{field_name}' came back as ?{param}= of the next request"
        if param != "cursor":
            config["cursor_param"] = param
        keys = [q.get(param, "") for q in queries]
    elif "offset" in names or (page_param is None and "limit" in names):
        config = {"style": "offset_limit", "items_field": items_field}
        why = "requests paged with offset/limit"
        keys = [q.get("offset", "0") for q in queries]
    elif page_param is not None:
        config = {"style": "page_number", "items_field": items_field}
        why = f"requests paged with {page_param}" + (f"/{size_param}" if size_param else "")
        next_field = _named(first, NEXT_URL_FIELDS, lambda v: v is None or isinstance(v, str))
        prev_field = _named(first, PREV_URL_FIELDS, lambda v: v is None or isinstance(v, str))
        if next_field and prev_field:
            config["style"] = "page_number_url"
        keys = [q.get(page_param, "1") for q in queries]
    else:
        return None
    total = _named(first, TOTAL_FIELDS, _is_int, prefix="total", exclude=("totalpages",))
    if total:
        config["total_field"] = total
        used.add(total)
    more = _named(first, HAS_MORE_FIELDS, lambda v: isinstance(v, bool))
    if more and config["style"] != "page_number_url":
        config["has_more_field"] = more
        used.add(more)
    if config["style"] == "offset_limit":
        nxt = _named(first, frozenset({"nextoffset"}), lambda v: v is None or _is_int(v))
        if nxt:
            config["next_offset_field"] = nxt
            used.add(nxt)
        for key, param in (("offset_echo_field", "offset"), ("limit_echo_field", "limit")):
            echo = _named(first, frozenset({param}), _is_int)
            if echo:
                config[key] = echo
                used.add(echo)
    if config["style"] in ("page_number", "page_number_url"):
        if page_param != "page":
            config["page_param"] = page_param
        if size_param and size_param != "size":
            config["size_param"] = size_param
    if config["style"] == "page_number_url":
        config["next_url_field"] = next_field
        config["previous_url_field"] = prev_field
        used |= {next_field or "", prev_field or ""}
    items = _all_items(pages, keys, items_field, config["style"], queries, size_param)
    size_name = (size_param or "size") if config["style"].startswith("page_number") else "limit"
    if not any(size_name in q for q in queries):
        longest = max(len(p.json[items_field]) for p in pages)
        if longest and (len(pages) > 1 or longest > DEFAULT_PAGE_SIZE):
            config["page_size"] = longest
            notes.append(f"no page size in the requests: pages of {longest} items")
    gaps: list[str] = []
    envelope = _envelope(pages, used, gaps)
    if envelope:
        config["envelope"] = envelope
        notes.append(f"envelope keys kept as recorded: {', '.join(envelope)}")
    notes += gaps
    fields = ", ".join(f"{k}={v}" for k, v in config.items() if k.endswith("_field"))
    why += f"; {fields}; {len(items)} items from {len(set(keys))} distinct pages"
    why += "".join(f"; {n}" for n in notes)
    return config, items, why, gaps


def _envelope(pages: list[Flow], used: set[str], gaps: list[str]) -> dict[str, Any]:
    """Every key beside the generated ones, with its first page's value; a value that changes
    from page to page is named, as the mock repeats it."""
    envelope: dict[str, Any] = {}
    for key, value in pages[0].json.items():
        if key in used:
            continue
        envelope[key] = value
        seen = [p.json.get(key, _MISSING) for p in pages]
        if all(v == value for v in seen):
            continue
        kinds = {_kind(v) for v in seen}
        if len(kinds) > 1:
            gaps.append(f"envelope key '{key}' is {' or '.join(sorted(kinds))} depending on the "
                        "page; the mock always gives the first page's")
        else:
            gaps.append(f"envelope key '{key}' changes from page to page; the mock repeats "
                        "the first page's value")
    return envelope


_MISSING = object()


def _kind(value: Any) -> str:
    if value is _MISSING:
        return "missing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__.replace("str", "string").replace("dict", "object").replace(
        "list", "array")


def _items_field(bodies: list[Any]) -> str | None:
    lists = [k for k, v in bodies[0].items() if isinstance(v, list)]
    lists = [k for k in lists if all(isinstance(b, dict) and isinstance(b.get(k), list)
                                     for b in bodies)]
    if not lists:
        return None
    for name in ITEM_FIELDS:
        for key in lists:
            if norm(key) == name:
                return key
    return lists[0]


def _cursor(pages: list[Flow], items_field: str) -> tuple[str, str] | None:
    """(response field, query param) when a field's value comes back in the next request."""
    for i, page in enumerate(pages[:-1]):
        body = page.json
        for key, value in body.items():
            if key == items_field or not isinstance(value, str) or not value:
                continue
            for later in pages[i + 1:]:
                for param, given in later.ex.query:
                    if given == value:
                        return key, param
    return None


def _named(body: Any, names: frozenset[str], check: Any, *, prefix: str | None = None,
           exclude: tuple[str, ...] = ()) -> str | None:
    if not isinstance(body, dict):
        return None
    for key, value in body.items():
        normalized = norm(key)
        if normalized in exclude or not check(value):
            continue
        if normalized in names or (prefix is not None and normalized.startswith(prefix)):
            return key
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _all_items(pages: list[Flow], keys: list[str], items_field: str, style: str,
               queries: list[dict[str, str]], size_param: str | None) -> list[Any]:
    """Every item of every distinct page, in page order; a page recorded twice counts once."""
    chosen: dict[str, tuple[int, Flow, dict[str, str]]] = {}
    for index, (page, key, query) in enumerate(zip(pages, keys, queries, strict=True)):
        chosen.setdefault(key, (index, page, query))

    def order(entry: tuple[str, tuple[int, Flow, dict[str, str]]]) -> tuple[int, int]:
        key, (index, _, _) = entry
        if style == "cursor":
            return (index, 0)
        try:
            return (int(key), index)
        except ValueError:
            return (1 << 30, index)

    if style == "offset_limit":
        placed: dict[int, Any] = {}
        for key, (_, page, _) in sorted(chosen.items(), key=order):
            start = int(key) if key.isdigit() else 0
            for i, item in enumerate(page.json[items_field]):
                placed.setdefault(start + i, item)
        return [placed[i] for i in sorted(placed)]
    out: list[Any] = []
    for _, (_, page, _) in sorted(chosen.items(), key=order):
        out.extend(page.json[items_field])
    return out
