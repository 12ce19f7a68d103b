"""Fixed answers with ``{id}``: values filled in first, then encoded."""

from __future__ import annotations

import json

import pytest

from imnot_proxy.engine.answers import fill, fixed_reply, header_safe

HOSTILE = ['x","status":"COMPLETED', "abc\r\nSet-Cookie: evil=1", "a\x00b", "<x>&'\"", "é/ü"]


@pytest.mark.parametrize("id", HOSTILE)
def test_an_id_never_changes_the_shape_of_a_json_body(id):
    reply = fixed_reply(404, {}, {"detail": "Unknown request ID: {id}", "n": 1},
                        absent_body=None)
    body = json.loads(reply.render(id).body)
    assert body == {"detail": f"Unknown request ID: {id}", "n": 1}


@pytest.mark.parametrize("id", HOSTILE)
def test_an_id_never_ends_a_header_line(id):
    reply = fixed_reply(200, {"X-Job": "job/{id}"}, None, absent_body=None)
    (value,) = [v for k, v in reply.render(id).headers if k == "X-Job"]
    assert "\r" not in value and "\n" not in value and "\x00" not in value
    assert value.startswith("job/")


def test_header_safe_percent_encodes_control_characters_only():
    assert header_safe("abc\r\nSet-Cookie: x") == "abc%0D%0ASet-Cookie: x"
    assert header_safe("plain-id é\t") == "plain-id é\t"
    assert header_safe("a\x7fb") == "a%7Fb"


@pytest.mark.parametrize("id", HOSTILE)
def test_an_id_is_escaped_in_an_xml_body(id):
    from xml.etree import ElementTree

    reply = fixed_reply(200, {"Content-Type": "application/xml"},
                        "<Job id=\"{id}\"><Name>{id}</Name></Job>", absent_body=None)
    body = reply.render(id).body
    if "\x00" in id:
        return  # NUL is not an XML character at all; escaped text is the best we can do
    root = ElementTree.fromstring(body)  # still well-formed: nothing was injected
    assert [child.tag for child in root] == ["Name"] and list(root.attrib) == ["id"]
    assert root.find("Name").text == id.replace("\r\n", "\n")


def test_a_plain_text_body_gets_the_id_as_is():
    reply = fixed_reply(200, {"Content-Type": "text/plain"}, "job {id} done", absent_body=None)
    assert reply.render("J-1").body == b"job J-1 done"


def test_an_answer_without_the_placeholder_is_encoded_once():
    reply = fixed_reply(200, {"X-A": "b"}, {"a": 1}, absent_body=None)
    assert not reply.templated
    assert reply.render("anything") is reply.response


def test_fill_reaches_keys_nested_values_and_lists():
    assert fill({"{id}": ["a {id}", {"b": "{id}"}], "n": 2}, "7") == {"7": ["a 7", {"b": "7"}],
                                                                      "n": 2}
