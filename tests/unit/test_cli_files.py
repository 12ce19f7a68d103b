"""The partner-file commands (``cli/files.py``) through ``main(argv)``, without a proxy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imnot_proxy import cli, loader

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
BROKEN = TESTS / "data" / "broken"

UNKNOWN_KEY = """\
partner: lenient
datapoints:
  - name: d
    pattern: static
    endpoints:
      - {method: GET, path: /x, response: {staus: 201}}
"""


@pytest.fixture
def lenient(tmp_path: Path) -> Path:
    folder = tmp_path / "lenient"
    folder.mkdir()
    (folder / "partner.yaml").write_text(UNKNOWN_KEY, encoding="utf-8")
    return folder


def flat(text: str) -> str:
    """Console output with rich's line wrapping undone."""
    return " ".join(text.split())


def test_validate_good_partners_exits_0(capsys):
    assert cli.main(["validate", str(REPO / "partners")]) == 0
    out = capsys.readouterr().out
    assert "partners loaded: bookingco, channellink, staylink" in out
    assert "0 errors, 0 warnings" in out


def test_validate_broken_partners_exits_1_and_names_file_and_line(capsys, monkeypatch):
    monkeypatch.chdir(BROKEN)
    assert cli.main(["validate", "."]) == 1
    out = capsys.readouterr().out
    assert "error wrong_type.yaml:9 datapoints.0.endpoints.0.response.status:" in out
    assert "warning unknown_key.yaml:17" in out


def test_validate_prints_one_line_per_problem(tmp_path, capsys):
    deep = tmp_path / ("a-rather-long-folder-name-" * 4) / "lenient"
    deep.mkdir(parents=True)
    (deep / "partner.yaml").write_text(UNKNOWN_KEY, encoding="utf-8")
    cli.main(["validate", str(deep)])
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("warning ") and line.endswith("(did you mean 'status'?)")
               for line in lines), lines


def test_validate_missing_path_exits_1(tmp_path):
    assert cli.main(["validate", str(tmp_path / "nowhere")]) == 1


def test_unknown_keys_are_warnings_unless_strict(lenient, capsys):
    assert cli.main(["validate", str(lenient)]) == 0
    assert "unknown key 'staus' (did you mean 'status'?)" in flat(capsys.readouterr().out)
    assert cli.main(["validate", "--strict", str(lenient)]) == 1
    assert "error" in capsys.readouterr().out


def test_validate_json(lenient, capsys):
    assert cli.main(["validate", "--json", str(lenient)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert report["partners"] == ["lenient"]
    [problem] = report["problems"]
    assert (problem["severity"], problem["loc"]) == (
        "warning", "datapoints.0.endpoints.0.response.staus")
    assert problem["line"] == 6


def test_validate_json_strict_reports_errors(lenient, capsys):
    assert cli.main(["validate", "--json", "--strict", str(lenient)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["ok"], report["partners"]) == (False, [])
    assert [p["severity"] for p in report["problems"]] == ["error"]


def test_init_writes_the_examples_once(tmp_path, capsys):
    assert cli.main(["init", "--dir", str(tmp_path)]) == 0
    partners = tmp_path / "partners"
    assert (partners / "staylink" / "partner.yaml").is_file()
    assert (partners / "bookingco" / "partner.yaml").is_file()
    result = loader.load_paths([partners])
    assert result.errors == []
    assert sorted(s.name for s in result.partners) == ["bookingco", "channellink", "staylink"]
    before = (partners / "staylink" / "partner.yaml").read_text()
    assert cli.main(["init", "--dir", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert (partners / "staylink" / "partner.yaml").read_text() == before


def test_routes_json(capsys):
    assert cli.main(["routes", "--json", "--admin", str(REPO / "partners")]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"host": "api.staylink.example", "method": "POST", "path": "/oauth/token",
            "owner": "staylink/token", "pattern": "oauth", "step": None, "when": None,
            "alternatives": []} in rows
    polling = [r for r in rows if r["owner"] == "staylink/reservation" and r["pattern"] != "admin"]
    assert [r["step"] for r in polling] == [1, 2, 3]
    admin = {(r["method"], r["path"]) for r in rows if r["pattern"] == "admin"}
    assert ("POST", "/imnot/admin/bookingco/charges/payload") in admin
    assert not any("/bookingco/reservation/" in path for _, path in admin)  # static: none
    assert {("GET", "/"), ("GET", "/imnot/admin/ui")} <= admin  # the admin page is listed too


def test_routes_of_broken_partners_exits_1(monkeypatch, capsys):
    monkeypatch.chdir(BROKEN)
    assert cli.main(["routes", "--json", "."]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert {r["owner"] for r in rows if r["pattern"] != "admin"} == {"first/orders",
                                                                       "unknownkey/job"}


def test_schema_prints_json_schema(capsys):
    assert cli.main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert {"partner", "hosts", "datapoints", "description"} <= set(schema["properties"])


def test_schema_out_file(tmp_path):
    out = tmp_path / "schema.json"
    assert cli.main(["schema", "--out", str(out)]) == 0
    assert "datapoints" in json.loads(out.read_text())["properties"]
