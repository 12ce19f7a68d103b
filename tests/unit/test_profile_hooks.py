"""``scripts/profile-hooks`` runs and prints the proxy's CPU per flow for each mode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "profile-hooks"


def test_profile_hooks_measures_every_mode_and_writes_a_profile(tmp_path: Path) -> None:
    out = tmp_path / "record.prof"
    run = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(SCRIPT), "--flows", "40", "--rounds", "1", "--profile", str(out)],
        capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    for mode in ("passthrough", "record", "verify", "child"):
        assert any(line.startswith(mode) and "µs" in line for line in run.stdout.splitlines())
    assert out.stat().st_size > 0
