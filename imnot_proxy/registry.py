"""Add, replace and delete partner files at runtime, validated in full before any write.

Fixes the original's B1–B4: a non-mapping file is a 422 like any other
problem; polling/callback config and route conflicts with the *other*
partners are checked before the file is written; the file is written
atomically; and the caller swaps the engine in the same call, so a deleted
partner's routes stop answering at once. Names are checked so that no path
can leave the partners directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import RequestError
from .loader import PartnerSource, check_across, parse_partner
from .schema import PARTNER_NAME_RE
from .yamlsafe import DEFAULT_LIMITS, Limits

REFUSED = {"status": "error"}  # the original's body for a refused registration
# A file written this long after a deletion on another host's clock may still predate it:
# clocks are compared through Redis's, measured to a few ms, and file times can be coarse.
CLOCK_SLACK = 2.0


@dataclass
class Registration:
    source: PartnerSource
    created: bool
    written: bool
    file: Path
    warnings: list[str] = field(default_factory=list)


def check_name(name: str) -> None:
    if not PARTNER_NAME_RE.fullmatch(name):
        raise RequestError(400, f"Invalid partner name {name!r}: use ^[a-zA-Z0-9_-]{{1,64}}$")


def _inside(base: Path, target: Path) -> Path:
    base = base.resolve()
    resolved = target.resolve()
    if resolved != base and base not in resolved.parents:
        raise RequestError(400, f"Path {target} escapes the partners directory")
    return resolved


def _symlinks(folder: Path) -> list[str]:
    found = [str(p) for p in folder.rglob("*") if p.is_symlink()]
    return found + ([str(folder)] if folder.is_symlink() else [])


def register(text: str, partners_dir: Path, current: list[PartnerSource], *,
             force: bool = False, dry_run: bool = False, strict: bool = False,
             label: str = "<request body>", limits: Limits = DEFAULT_LIMITS
             ) -> tuple[Registration, list[PartnerSource]]:
    """Validate a partner file against the others and write it; returns the new partner list."""
    source, problems = parse_partner(text, label, strict=strict, limits=limits)
    errors = [p for p in problems if p.is_error]
    if source is None or errors:
        raise RequestError(422, [str(p) for p in errors] or ["invalid partner file"],
                           extra=REFUSED)
    name = source.name
    check_name(name)
    folder = partners_dir / name
    target = folder / "partner.yaml"
    _inside(partners_dir, target)
    existing = next((s for s in current if s.name == name), None)
    exists = target.exists() or existing is not None
    if exists and not force:
        raise RequestError(409, f"Partner '{name}' already exists. Use force to overwrite.",
                           extra=REFUSED)
    if folder.exists() and _symlinks(folder):
        raise RequestError(400, f"Partner directory {folder} contains symlinks")
    placed = PartnerSource(source.model, existing.file if existing else target, source.lines)
    others = [s for s in current if s.name != name]
    accepted, conflicts = check_across(others + [placed])
    if conflicts:
        raise RequestError(422, [str(p).replace(str(placed.file), label)
                                 for p in conflicts], extra=REFUSED)
    if not dry_run:
        write_atomic(placed.file, text)
    warnings = [str(p) for p in problems if not p.is_error]
    return Registration(placed, not exists, not dry_run, placed.file, warnings), accepted


def unregister(name: str, partners_dirs: list[Path],
               current: list[PartnerSource]) -> list[PartnerSource]:
    """Delete a partner's file (or folder) and return the partner list without it."""
    check_name(name)
    source = next((s for s in current if s.name == name), None)
    if source is None:
        raise RequestError(404, f"Partner '{name}' not found")
    file = source.file
    base = next((d for d in partners_dirs if _is_within(d, file)), None)
    if base is None:
        raise RequestError(400, f"Partner '{name}' is not inside a partners directory")
    if file.name in ("partner.yaml", "partner.yml") and file.parent != base.resolve():
        folder = _inside(base, file.parent)
        links = _symlinks(file.parent)
        if links:
            raise RequestError(400, f"Partner directory contains symlinks: {', '.join(links)}")
        shutil.rmtree(folder)
    else:
        _inside(base, file).unlink()
    return [s for s in current if s.name != name]


def remove_deleted(source: PartnerSource, partners_dirs: list[Path], deleted_at: float
                   ) -> Path | None:
    """Delete this host's copy of a partner deleted through another replica: the file
    ``register`` writes, ``<partners dir>/<name>/partner.yaml``, and its folder once empty.

    Only when ``source`` was loaded from that very path, no symlink leads there, the file
    still names the partner and was last written before the deletion (``deleted_at``, this
    host's clock, within ``CLOCK_SLACK``). Returns the file deleted, None when it is already
    gone (a partners directory shared with the replica that deleted it); raises
    ``RequestError`` saying why a file is kept.
    """
    name = source.name
    check_name(name)
    for base in partners_dirs:
        folder = base / name
        target = folder / "partner.yaml"
        if os.path.abspath(source.file) != os.path.abspath(target):
            continue
        if folder.is_symlink() or target.is_symlink():
            raise RequestError(400, f"{target} is reached through a symlink")
        _inside(base, target)
        try:
            written = target.stat().st_mtime
            text = target.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        if written > deleted_at + CLOCK_SLACK:
            raise RequestError(400, f"{target} was written after the deletion")
        parsed, _ = parse_partner(text, str(target))
        if parsed is None or parsed.name != name:
            raise RequestError(400, f"{target} no longer defines partner {name!r}")
        target.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # other files in it are not ours to delete
            folder.rmdir()
        return target
    raise RequestError(400, f"{source.file} is not where a registration writes {name!r}")


def _is_within(base: Path, file: Path) -> bool:
    try:
        _inside(base, file)
        return True
    except RequestError:
        return False


def write_atomic(path: Path, text: str) -> None:
    """Write a file so readers see the old or the new content, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".partner-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
