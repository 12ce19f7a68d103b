"""The original imnot's own partner files, which the compatibility tests load and serve.

They live in ``shared/imnot-compat`` beside the repository: the shared folder that CI lays
next to every checkout (with the design notes and the benchmark harness). A plain clone has
no such folder, so those tests skip there, saying so. ``.ci/run`` sets
``IMNOT_REQUIRE_COMPAT=1``, which turns each of those skips into a failure: in CI they run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

COMPAT = Path(__file__).resolve().parents[1].parent / "shared" / "imnot-compat"
REQUIRE_ENV = "IMNOT_REQUIRE_COMPAT"


def reason(missing: Path) -> str:
    return (f"the original imnot's partner files are not here ({missing} is missing): they "
            f"come with the shared/ folder beside the repository ({COMPAT}), which a plain "
            f"clone does not have. CI has it and runs these tests ({REQUIRE_ENV}=1 fails them "
            "instead of skipping)")


def require(*paths: Path) -> None:
    """Skip the test when one of ``paths`` is missing, or fail it under IMNOT_REQUIRE_COMPAT=1."""
    missing = [path for path in paths if not Path(path).exists()]
    if not missing:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(reason(missing[0]), pytrace=False)
    pytest.skip(reason(missing[0]))
