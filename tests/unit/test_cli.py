"""``imnot-proxy`` as a whole (``cli/__init__.py``): the command table, ``--version`` and
``python -m imnot_proxy.cli``, which must not import mitmproxy for the partner-file commands."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from imnot_proxy import cli

REPO = Path(__file__).resolve().parents[2]


def test_every_sub_command_has_a_handler():
    parser = cli.build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(sub.choices) == set(cli.COMMANDS) | {"start"}


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("imnot-proxy ")


def test_module_entry_validates_without_importing_mitmproxy():
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "imnot_proxy.cli", "validate",
         str(REPO / "partners")], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "partners loaded: bookingco, channellink, staylink" in done.stdout
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()]
    assert "imnot_proxy.cli.files" in imported
    assert not [name for name in imported if name.startswith("mitmproxy")]
