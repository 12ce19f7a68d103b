"""The state commands (``cli/remote.py``): ``payload`` and ``sessions`` on a store file."""

from __future__ import annotations

import json
from pathlib import Path

from imnot_proxy import cli

REPO = Path(__file__).resolve().parents[2]


def test_payload_set_and_get_offline(tmp_path, capsys):
    payload = tmp_path / "charges.json"
    payload.write_text('{"total": 150}')
    common = ["--db", str(tmp_path / "imnot.db"), "--partners", str(REPO / "partners")]
    assert cli.main(["payload", "set", "bookingco", "charges", str(payload), *common]) == 0
    capsys.readouterr()
    assert cli.main(["payload", "get", "bookingco", "charges", "--json", *common]) == 0
    assert json.loads(capsys.readouterr().out)["payload"] == {"total": 150}


def test_payload_set_offline_rejects_a_static_datapoint(tmp_path, capsys):
    payload = tmp_path / "x.json"
    payload.write_text("[1]")
    assert cli.main(["payload", "set", "bookingco", "reservation", str(payload),
                     "--db", str(tmp_path / "imnot.db"),
                     "--partners", str(REPO / "partners")]) == 1
    assert "No payload datapoint bookingco/reservation" in capsys.readouterr().err
