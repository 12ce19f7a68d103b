"""The page's pure modules (no DOM) run under node: the YAML the Partner Builder writes reads
back as exactly the value it was written from, every pattern's starting form is a partner
file the loader accepts, and the flow tester fills its paths as it says."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from imnot_proxy.loader import parse_partner

UI = Path(__file__).resolve().parents[2] / "imnot_proxy" / "ui"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def node(tmp_path: Path, script: str) -> Any:
    """Run an ES module that may import the page's modules by name; returns what it prints."""
    for name in ("yaml", "model", "flow"):
        script = script.replace(f'"./{name}.js"', json.dumps((UI / f"{name}.js").as_uri()))
    path = tmp_path / "case.mjs"
    path.write_text(script)
    done = subprocess.run([NODE, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


AWKWARD = [
    "plain", "", " leading", "trailing ", "yes", "No", "ON", "null", "~", "true", "1", "0x1f",
    "1e3", "1.5", ".inf", "-", "- item", "a: b", "a #b", "#c", "@x", "`x", "'q'", '"q"',
    "[list]", "{map}", "/path/{id}", "*star", "&anchor", "!tag", "%dir", "|", ">", "?",
    "multi\nline", "tab\there", "\u2028sep", "nel\u0085", "bom\ufeff", "del\x7f", "é ü 中文 🙂",
    "CR\r\nLF", "back\\slash", "=", "<<", "2024-01-01", "12:30", "0o17", "+1", "Y", "n",
]


def test_yaml_reads_back_as_the_value_written(tmp_path):
    value = {
        "strings": AWKWARD,
        "keys": {text: index for index, text in enumerate(AWKWARD)},
        "numbers": [0, -3, 2.5, 1e21, 1e-7, 123456789012],
        "flags": [True, False, None],
        "empty": {"list": [], "map": {}},
        "nested": [[1, [2, {"deep": ["x"]}]], {"a": {"b": {"c": []}}}],
    }
    text = node(tmp_path, f"""
        import {{dump}} from "./yaml.js";
        console.log(JSON.stringify(dump({json.dumps(value)})));
    """)
    assert yaml.safe_load(text) == value


@pytest.mark.parametrize(("pattern", "changes"), [
    ("static", {}), ("fetch", {}), ("polling", {}), ("polling", {"id_from": "body"}),
    ("polling", {"dp": {"strict_order": True}}),
    ("oauth", {}), ("callback", {}), ("callback", {"callback_via": "header"}), ("paginated", {}),
    ("paginated", {"dp": {"pagination_style": "cursor"}}),
    ("paginated", {"dp": {"pagination_style": "page_number_url"}}),
    ("paginated", {"dp": {"pagination_style": "page_number"}}),
])
def test_every_pattern_starts_as_a_file_the_loader_accepts(tmp_path, pattern, changes):
    changes = dict(changes)
    dp_changes = changes.pop("dp", {})
    text = node(tmp_path, f"""
        import {{dump}} from "./yaml.js";
        import {{emptyDatapoint, toDocument}} from "./model.js";
        const dp = emptyDatapoint({json.dumps(pattern)}, "my-items");
        Object.assign(dp.endpoints[0], {json.dumps(changes)});
        Object.assign(dp, {json.dumps(dp_changes)});
        const form = {{partner: "acme", description: "<b>desc</b>", hosts: ["api.acme.test", ""],
                      datapoints: [dp]}};
        const {{doc, notes}} = toDocument(form);
        console.log(JSON.stringify({{text: dump(doc), notes}}));
    """)
    assert text["notes"] == []
    source, problems = parse_partner(text["text"], "built.yaml")
    assert [str(p) for p in problems] == []
    assert source is not None and source.model.datapoints[0].pattern == pattern
    assert list(source.model.hosts) == ["api.acme.test"]


def test_form_values_become_typed_yaml(tmp_path):
    text = node(tmp_path, """
        import {dump} from "./yaml.js";
        import {emptyDatapoint, toDocument} from "./model.js";
        const dp = emptyDatapoint("static", "x");
        Object.assign(dp.endpoints[0], {status: "201", body: "plain text",
                                        headers: "Content-Type: text/plain\\nbroken line"});
        const poll = emptyDatapoint("polling", "jobs");
        poll.strict_order = true;
        Object.assign(poll.endpoints[0], {id_from: "body", id_body_field: "jobId"});
        const {doc, notes} = toDocument({partner: "p", datapoints: [dp, poll]});
        console.log(JSON.stringify({doc, notes, text: dump(doc)}));
    """)
    static = text["doc"]["datapoints"][0]["endpoints"][0]["response"]
    assert static == {"status": 201, "body": "plain text", "headers": {"Content-Type": "text/plain"}}
    assert text["notes"] == ['datapoint 1, endpoint 1: header line 2 is not "Name: value"']
    polling = text["doc"]["datapoints"][1]
    assert polling["strict_order"] is True
    assert polling["endpoints"][0]["response"] == {"status": 202, "generates_id": True,
                                                   "id_body_field": "jobId"}
    source, problems = parse_partner(text["text"], "built.yaml")
    assert source is not None and [p for p in problems if p.is_error] == []


def test_problem_lines_and_path_filling(tmp_path):
    out = node(tmp_path, """
        import {problemLine} from "./model.js";
        import {fillPath, orderedSteps} from "./flow.js";
        console.log(JSON.stringify({
          lines: ["<request body>:12 datapoints.0.name: bad", "<request body> no line", "x"]
            .map(problemLine),
          filled: fillPath("/r/{id}/x/{other}", {id: "a b/c"}),
          order: orderedSteps({endpoints: [{step: 3, path: "c"}, {step: null, path: "z"},
                                           {step: 1, path: "a"}, {step: 2, path: "b"}]})
            .map((s) => s.path),
        }));
    """)
    assert out == {"lines": [12, 0, 0], "filled": "/r/a%20b%2Fc/x/{other}",
                   "order": ["a", "b", "c", "z"]}
