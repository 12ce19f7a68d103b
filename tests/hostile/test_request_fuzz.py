"""Hostile requests to every pattern, through ``Engine.handle``: never an exception, never
a 5xx, and the next ordinary request is still answered as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imnot_proxy import loader
from imnot_proxy.engine import Engine, EngineSettings, Mocked, Unmatched
from imnot_proxy.messages import CIHeaders, RequestView, encode_json
from imnot_proxy.store import SqliteStore

REPO = Path(__file__).resolve().parents[2]
PARTNER_FILES = [REPO / "tests/e2e/partners/patterns/acme.yaml",
                 REPO / "partners/staylink/partner.yaml",
                 REPO / "partners/bookingco/partner.yaml"]

NASTY_TEXT = ['x","status":"COMPLETED', "abc\r\nSet-Cookie: evil=1", "a\x00b", "caf\udce9",
              "\ud800", "é", "9" * 5000, "NaN", "-1", "0", "%00", "../../etc/passwd", "{id}",
              "<x>&amp;", "", " ", "🙂", "\\", "'", '"']


def json_bodies() -> st.SearchStrategy[bytes]:
    nasty = st.sampled_from([b"[" * 100_000, b'{"n":"\\ud800"}', b"NaN", b'{"a": Infinity}',
                             b"\xff\xfe", b"{", b"null", b"[]", b'"s"', b"9" * 5000,
                             b'{"quantity": ' + b"9" * 5000 + b"}",
                             b'{"callbackUrl": "http://10.0.0.1/x"}',
                             b'{"callbackUrl": 5}', b'{"callbackUrl": "not a url"}'])
    values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
        | st.sampled_from(NASTY_TEXT),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
            st.sampled_from(["quantity", "currency", "note", "callbackUrl", "id", "x"]), inner,
            max_size=4),
        max_leaves=12)
    return nasty | values.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=64)


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    folder = tmp_path_factory.mktemp("fuzz")
    result = loader.load_paths(PARTNER_FILES)
    assert result.errors == [], result.errors
    store = SqliteStore(folder / "imnot.db")
    for source in result.partners:
        for dp in source.model.datapoints:
            if dp.pattern in ("fetch", "polling", "callback"):
                store.put_global(source.name, dp.name, encode_json({"ok": True}))
            elif dp.pattern == "paginated":
                store.put_global(source.name, dp.name, encode_json([{"i": i} for i in range(7)]))
    return Engine(result.partners, store, EngineSettings(dispatch=lambda job: None))


def routes(engine: Engine) -> st.SearchStrategy[tuple[str, str]]:
    """A declared route's method (mostly) and its path with hostile parameter values."""
    declared = sorted({(r.method, r.path) for r in engine.router.routes})

    def fill(route: tuple[str, str], other: str | None, values: list[str]) -> tuple[str, str]:
        method, template = route
        it = iter(values)
        path = "/".join(next(it, "v") if p.startswith("{") else p for p in template.split("/"))
        return other or method, path

    return st.builds(fill, st.sampled_from(declared),
                     st.none() | st.none() | st.none() | st.sampled_from(
                         ["GET", "POST", "HEAD", "PUT", "DELETE", "GE T", ""]),
                     st.lists(st.sampled_from(NASTY_TEXT) | st.text(max_size=8), min_size=3,
                              max_size=3))


def requests(engine: Engine) -> st.SearchStrategy[RequestView]:
    return st.builds(
        lambda route, query, headers, body, session, direct: RequestView(
            method=route[0], path=route[1], query_string=query, headers=CIHeaders(headers),
            body=body, host="api.acme.example", session=session, direct=direct),
        routes(engine),
        st.sampled_from(["", "offset=-5&limit=0", "limit=" + "9" * 5000, "dryRun=maybe",
                         "cursor=nope", "p=0&per_page=-1", "page=99999999999999999999",
                         "a=%ff%fe", "dryRun=true&dryRun=1", "p=2&x=caf\udce9",
                         "cursor=\udce9"]),
        st.dictionaries(st.sampled_from(["X-Api-Key", "Content-Type", "X-Callback-Url",
                                         "X-Imnot-Session", "Authorization"]),
                        st.sampled_from(NASTY_TEXT), max_size=3),
        json_bodies(),
        st.none() | st.sampled_from(NASTY_TEXT),
        st.booleans(),
    )


@settings(max_examples=400, deadline=2000, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_hostile_requests_never_raise_nor_answer_5xx(engine, data):
    request = data.draw(requests(engine))
    outcome = engine.handle(request)
    if isinstance(outcome, Mocked | Unmatched):
        assert outcome.response.status < 500, (request, outcome.response)
        if outcome.response.body and b"json" in dict(outcome.response.headers).get(
                "content-type", "").encode():
            json.loads(outcome.response.body)  # every JSON answer is JSON
    for name, value in getattr(outcome, "response", None) and outcome.response.headers or ():
        assert "\r" not in value and "\n" not in value and "\x00" not in value, (name, value)
    # the next ordinary request is answered as always
    ordinary = engine.handle(RequestView(method="GET", path="/items/offset",
                                         headers=CIHeaders(), host="api.acme.example"))
    assert isinstance(ordinary, Mocked) and ordinary.response.status == 200
