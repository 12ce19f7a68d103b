"""Where the CLI finds the files it ships: the ``-s`` entry script and the example partners.

Shared by ``start`` (the proxy command line) and the partner-file commands (their default
partners directory), so neither has to import the other.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def addon_path() -> Path:
    """The ``-s`` entry script (alone in its folder, see ``_mitm/entry.py``)."""
    return Path(str(resources.files("imnot_proxy") / "_mitm" / "entry.py"))


def examples_dir() -> Path:
    return Path(str(resources.files("imnot_proxy") / "examples"))


def default_partners() -> Path:
    """``./partners`` when it exists, else the bundled examples."""
    local = Path("partners")
    return local if local.is_dir() else examples_dir()
