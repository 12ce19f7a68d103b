"""``imnot-proxy start`` (``cli/start.py``) turns its flags into the proxy's command line."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from imnot_proxy import cli
from imnot_proxy.cli.start import start_argv
from imnot_proxy.jsonlog import FLOW_FIELD, JsonFormatter


def argv(*flags: str) -> list[str]:
    args = cli.build_parser().parse_args(["start", "--partners", "partners", *flags])
    return start_argv(args, [])


def sets(line: list[str]) -> list[str]:
    return [line[i + 1] for i, token in enumerate(line) if token == "--set"]


def modes(line: list[str]) -> list[str]:
    return [line[i + 1] for i, token in enumerate(line) if token == "--mode"]


def test_start_is_lazy_and_watches_partner_files_by_default():
    line = argv()
    assert "connection_strategy=lazy" in sets(line)
    assert "imnot_watch=true" in sets(line)
    assert "imnot_watch=false" in sets(argv("--no-watch"))
    assert modes(line) == []


def test_admin_port_adds_a_reverse_listener_for_the_admin_host():
    assert modes(argv("--port", "9000", "--admin-port", "9001")) == [
        "regular@9000", "reverse:http://imnot.proxy:80@9001"]
    assert modes(argv("--port", "9000", "--admin-port", "9001",
                      "--upstream", "http://corp:3128")) == [
        "upstream:http://corp:3128@9000", "reverse:http://imnot.proxy:80@9001"]


def test_record_flags_and_json_logs_become_options():
    line = sets(argv("--record", "--record-host", "a.example", "--record-host", "b.example",
                     "--json-logs"))
    assert "imnot_mode=record" in line
    assert "imnot_record_hosts=a.example" in line and "imnot_record_hosts=b.example" in line
    assert "imnot_json_logs=true" in line


def test_json_log_lines_carry_the_flow_fields():
    record = logging.LogRecord("imnot_proxy", logging.INFO, __file__, 1, "imnot mock p/d", (),
                               None)
    setattr(record, FLOW_FIELD, {"kind": "mock", "partner": "p", "status": 200, "session": None})
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "imnot mock p/d"
    assert (line["kind"], line["partner"], line["status"]) == ("mock", "p", 200)
    assert "session" not in line


def test_addon_path_prints_the_entry_script(capsys):
    assert cli.main(["addon-path"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.is_file()
    assert path.name == "entry.py"
    assert "ImnotProxy" in path.read_text()
