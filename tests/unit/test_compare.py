"""Shapes of answers and how two answers differ: status, body shape, Content-Type, Location."""

from __future__ import annotations

import json

import pytest

from imnot_proxy.recording.compare import Ignore, Observed, body_shape, compare, location_shape

JSON = (("Content-Type", "application/json"),)


def observed(body: object, status: int = 200, headers=JSON) -> Observed:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Observed(status, tuple(headers), data)


def details(expected: Observed, got: Observed, **kw) -> list[str]:
    return [str(d) for d in compare(expected, got, **kw).differences]


def test_same_keys_and_types_with_other_values_are_equal() -> None:
    a = observed({"id": "a", "n": 1, "tags": ["x"], "next": None, "deep": {"ok": True}})
    b = observed({"id": "b", "n": 7, "tags": ["y", "z"], "next": None, "deep": {"ok": False}})
    assert compare(a, b).equal


@pytest.mark.parametrize(("got", "expected_detail"), [
    ({"id": 1}, "body: $.id: string ≠ number"),
    ({}, "body: $.id missing"),
    ({"id": "x", "extra": 1}, "body: $.extra not expected"),
    ([1], "body: $: object ≠ array"),
])
def test_body_shape_differences_name_the_place(got: object, expected_detail: str) -> None:
    assert expected_detail in details(observed({"id": "a"}), observed(got))


def test_lists_compare_the_merged_shape_of_their_items() -> None:
    a = observed({"items": [{"a": 1}, {"a": 2, "b": "x"}]})
    assert compare(a, observed({"items": [{"a": 3, "b": "y"}]})).equal
    assert details(a, observed({"items": []})) == ["body: $.items[]: object ≠ no items"]
    assert details(a, observed({"items": [{"a": "1", "b": "y"}]})) \
        == ["body: $.items[].a: number ≠ string"]


def test_status_content_type_and_kind_of_body() -> None:
    assert details(observed({}, 200), observed({}, 404)) == ["status: 200 ≠ 404"]
    xml = Observed(200, (("Content-Type", "application/xml"),), b"<a/>")
    assert details(xml, observed({})) == ["body: xml ≠ json",
                                          "content-type: application/xml ≠ application/json"]
    assert compare(Observed(204), Observed(204, (("Content-Type", "text/plain"),))).equal


def test_xml_bodies_compare_element_and_attribute_paths() -> None:
    a = Observed(200, (), b'<r xmlns="urn:x"><Echo Token="1"/><Item>1</Item></r>')
    b = Observed(200, (), b'<r xmlns="urn:y"><Echo Token="2"/><Item>2</Item><Item/></r>')
    assert compare(a, b).equal
    c = Observed(200, (), b"<r><Echo/></r>")
    assert details(a, c) == ["body: /r/Echo/@Token missing", "body: /r/Item missing"]
    assert body_shape(Observed(200, (), b"<unclosed"))[0] == "text"


def test_location_is_compared_with_ids_as_placeholders() -> None:
    assert location_shape("/jobs/3f2a9c1e-7b4d-4e8a-9c2f-1a2b3c4d5e6f") == "/jobs/{id}"
    assert location_shape("https://h.example/jobs/j-x/s", ids=["j-x"]) \
        == "https://h.example/jobs/{id}/s"
    a = Observed(202, (("Location", "/jobs/J-1"),))
    b = Observed(202, (("Location", "/jobs/M-7"),))
    assert compare(a, b, expected_ids=["J-1"], got_ids=["M-7"]).equal
    assert details(a, Observed(202)) == ["location: location /jobs/J-1 ≠ none"]


def test_ignored_fields_by_name_anywhere_or_by_path() -> None:
    a = observed({"updatedAt": None, "data": {"updated_at": None, "etag": "x"}})
    b = observed({"updatedAt": "2026", "data": {"updated_at": "2026", "etag": 1}})
    assert len(compare(a, b).differences) == 3
    assert compare(a, b, ignore=Ignore.of(["updated-at", "data.etag"])).equal
