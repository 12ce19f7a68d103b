"""Router: host tables, method and path-template matching, and what a miss explains."""

from __future__ import annotations

import pytest

from imnot_proxy.routing import (
    ANY_HOST,
    Match,
    Miss,
    Route,
    Router,
    is_param,
    path_shape,
    split_path,
)


def route(host: str, method: str, path: str, partner: str = "p", datapoint: str = "d") -> Route:
    return Route(host, method, path, partner, datapoint, "fetch")


@pytest.fixture
def router() -> Router:
    r = Router()
    for rt in [
        route("api.a.example", "GET", "/items/{id}", datapoint="item"),
        route("api.a.example", "GET", "/items/latest", datapoint="latest"),
        route("api.a.example", "POST", "/items", datapoint="create"),
        route("api.a.example", "HEAD", "/status/{id}", datapoint="head"),
        route("api.a.example", "GET", "/status/{id}", datapoint="status"),
        route("api.a.example", "GET", "/", datapoint="root"),
        route("*.b.example", "GET", "/wild", datapoint="wild"),
        route(ANY_HOST, "GET", "/anywhere", partner="q", datapoint="any"),
        route(ANY_HOST, "GET", "/items/{id}", partner="q", datapoint="any-item"),
        route(ANY_HOST, "GET", "/orders/{order}/lines/{line}", partner="q", datapoint="line"),
    ]:
        assert r.add(rt) is None
    return r


@pytest.mark.parametrize(("path", "segments"), [
    ("/", []),
    ("/a", ["a"]),
    ("/a/", ["a"]),
    ("/a/b", ["a", "b"]),
    ("/a//b", ["a", "", "b"]),
    ("/a%20b/c", ["a b", "c"]),
])
def test_split_path(path, segments):
    assert split_path(path) == segments


@pytest.mark.parametrize(("segment", "expected"), [
    ("{id}", True), ("{x_y}", True), ("{}", False), ("id", False), ("{id", False),
])
def test_is_param(segment, expected):
    assert is_param(segment) is expected


def test_path_shape_erases_parameter_names():
    assert path_shape("/a/{id}/b/") == path_shape("/a/{x}/b") == "/a/{}/b"
    assert path_shape("/") == "/"


@pytest.mark.parametrize(("host", "method", "path", "datapoint", "params"), [
    ("api.a.example", "GET", "/items/7", "item", {"id": "7"}),
    ("api.a.example", "GET", "/items/latest", "latest", {}),  # literal beats parameter
    ("api.a.example", "GET", "/items/7/", "item", {"id": "7"}),  # trailing slash ignored
    ("API.A.EXAMPLE", "GET", "/items/7", "item", {"id": "7"}),  # host case-insensitive
    ("api.a.example", "POST", "/items", "create", {}),
    ("api.a.example", "GET", "/", "root", {}),
    ("api.a.example", "HEAD", "/status/1", "head", {"id": "1"}),  # declared HEAD wins
    ("api.a.example", "HEAD", "/items/1", "item", {"id": "1"}),  # HEAD answered by GET (B10)
    ("api.a.example", "GET", "/items/a%20b", "item", {"id": "a b"}),
    ("x.b.example", "GET", "/wild", "wild", {}),
    ("x.y.b.example", "GET", "/wild", "wild", {}),
    ("api.a.example", "GET", "/anywhere", "any", {}),  # any-host routes apply to every host
    ("unknown.example", "GET", "/anywhere", "any", {}),
    ("unknown.example", "GET", "/items/3", "any-item", {"id": "3"}),
    ("", "GET", "/orders/o1/lines/l2", "line", {"order": "o1", "line": "l2"}),
])
def test_resolve_matches(router, host, method, path, datapoint, params):
    found = router.resolve(host, method, path)
    assert isinstance(found, Match), found
    assert found.route.datapoint == datapoint
    assert found.params == params


@pytest.mark.parametrize(("host", "method", "path"), [
    ("b.example", "GET", "/wild"),  # *.b.example needs a sub-domain
    ("xb.example", "GET", "/wild"),
    ("api.a.example", "GET", "/items"),
    ("api.a.example", "GET", "/items//"),  # an empty segment is no parameter value
    ("api.a.example", "get", "/items/1"),  # methods are matched as given (upper case)
    ("api.a.example", "GET", "/Items/1"),  # paths are case-sensitive
    ("api.a.example", "GET", "/items/1/extra"),
])
def test_resolve_misses(router, host, method, path):
    assert isinstance(router.resolve(host, method, path), Miss)


def test_host_specific_table_is_tried_before_any_host(router):
    assert router.resolve("api.a.example", "GET", "/items/9").route.partner == "p"
    assert router.resolve("other.example", "GET", "/items/9").route.partner == "q"


def test_miss_lists_allowed_methods_for_a_known_path(router):
    found = router.resolve("api.a.example", "DELETE", "/items/1")
    assert isinstance(found, Miss)
    assert found.allowed == ("GET",)
    assert found.host_known is True


def test_miss_explains_with_the_closest_routes(router):
    found = router.resolve("api.a.example", "GET", "/items/1/extra")
    assert isinstance(found, Miss)
    assert found.allowed == ()
    assert 0 < len(found.closest) <= 3
    assert {r.path for r in found.closest} >= {"/items/{id}", "/items/latest"}


def test_miss_on_an_unknown_host_is_not_a_partner_host(router):
    found = router.resolve("elsewhere.example", "GET", "/nothing")
    assert isinstance(found, Miss)
    assert found.host_known is False


def test_direct_requests_match_routes_of_any_host(router):
    found = router.resolve("127.0.0.1", "GET", "/wild", direct=True)
    assert isinstance(found, Match)
    assert found.route.datapoint == "wild"
    assert isinstance(router.resolve("127.0.0.1", "GET", "/wild"), Miss)


@pytest.mark.parametrize(("host", "expected"), [
    ("api.a.example", True), ("API.a.Example", True), ("x.b.example", True),
    ("b.example", False), ("unknown.example", False),
])
def test_is_partner_host(router, host, expected):
    assert router.is_partner_host(host) is expected


def test_add_returns_the_route_already_there_for_the_same_shape():
    r = Router()
    first = route("h.example", "GET", "/a/{id}", datapoint="one")
    assert r.add(first) is None
    existing = r.add(route("h.example", "GET", "/a/{other}", datapoint="two"))
    assert existing is not None and existing.datapoint == "one"
    assert r.add(route("h.example", "POST", "/a/{other}")) is None  # another method
    assert r.add(route("g.example", "GET", "/a/{id}")) is None  # another host
    assert len(r) == 3


def test_find_looks_up_by_host_method_and_shape():
    r = Router()
    r.add(route("h.example", "GET", "/a/{id}", datapoint="one"))
    assert r.find(route("h.example", "GET", "/a/{x}")).datapoint == "one"
    assert r.find(route("h.example", "POST", "/a/{x}")) is None
    assert r.find(route("g.example", "GET", "/a/{x}")) is None
    assert r.find(route("h.example", "GET", "/a/b")) is None


def test_routes_carry_their_parameter_names():
    r = Router()
    r.add(route(ANY_HOST, "GET", "/a/{first}/b/{second}"))
    assert r.routes[0].param_names == ("first", "second")
    assert r.routes[0].label == "GET /a/{first}/b/{second}"
    assert r.routes[0].owner == "p/d"


def test_tls_allow_list_is_one_pattern_matching_partner_hosts_only():
    import re

    from imnot_proxy.interception import allow_patterns

    (pattern,) = allow_patterns(["api.a.example", "*.b.example", "imnot.proxy"])
    assert re.search(pattern, "api.a.example:443")
    assert re.search(pattern, "x.y.b.example:8443")
    assert re.search(pattern, "imnot.proxy:443")
    assert not re.search(pattern, "b.example:443")
    assert not re.search(pattern, "api.a.example.evil:443")
    assert not re.search(pattern, "xapi.a.example:443")
    assert allow_patterns([]) == []
