"""Ids in paths: id-shaped segments, values handed out by earlier responses, parameter names."""

from __future__ import annotations

import pytest

from imnot_proxy.recording.infer import id_kind, infer

from .infer_support import endpoint, ex


@pytest.mark.parametrize(("segment", "kind"), [
    ("3f2a9c1e-7b4d-4e8a-9c2f-1a2b3c4d5e6f", "a UUID"),
    ("12345", "a number"),
    ("a1b2c3d4e5f6", "a hex token"),
    ("Zx81kQ2pLm09TTqa", "a token"),
    ("ord_1NXWPnCo2eZc7X", "a token"),
    ("reservations", None),
    ("v2", None),
    ("RES-001", None),
    ("deadbeef", None),
])
def test_id_shaped_segments(segment: str, kind: str | None) -> None:
    assert id_kind(segment) == kind



def test_a_value_from_an_earlier_response_becomes_a_parameter() -> None:
    result = infer([
        ex("GET", "/properties", 200, {"properties": [{"code": "P100"}, {"code": "P200"}]}),
        ex("GET", "/properties/P100", 200, {"code": "P100", "rooms": 3}),
        ex("GET", "/properties/P300", 200, {"code": "P300", "rooms": 1}),
    ], "p")
    assert endpoint(result, "property")["path"] == "/properties/{id}"
    why = next(r.why for r in result.inferred if r.request == "GET /properties/{id}")
    assert "'P100' came in the response of flow 1" in why
    assert [r.flows for r in result.inferred] == ["1", "2–3"]


def test_two_parameters_are_named_after_the_preceding_segment() -> None:
    result = infer([ex("GET", "/v1/properties/17/rooms/a1b2c3d4e5f6", 200, {"bed": 2})], "p")
    assert endpoint(result, "room")["path"] == "/v1/properties/{propertyId}/rooms/{id}"


def test_version_strings_and_earlier_literals_stay_literal() -> None:
    result = infer([
        ex("GET", "/api/v2/info", 200, {"apiVersion": "v2", "region": "eu-1"}),
        ex("GET", "/api/v2/regions/eu-1", 200, {"name": "Europe"}),
    ], "p")
    assert endpoint(result, "info")["path"] == "/api/v2/info"
    assert endpoint(result, "region")["path"] == "/api/v2/regions/{id}"
