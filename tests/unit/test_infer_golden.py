"""``record to-yaml`` output pinned byte for byte: each recording under ``tests/data/infer``
must infer and render to exactly the files stored beside it.

A case is a folder: ``recording.har`` (or, when it is missing, ``tests/data/har/<case>.har``),
an optional ``hosts`` file with one ``--host`` filter a line, and ``expected/`` holding
``partner.yaml``, ``payloads/*.json`` and ``report.txt`` (the summary table, notes, and the
replay check: the recording replayed against the inferred mock, with every step that differs).
After a deliberate change to the inference, rewrite the expected files with
``IMNOT_UPDATE_GOLDEN=1 python -m pytest tests/unit/test_infer_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from imnot_proxy.recording import yamlout
from imnot_proxy.recording.infer import Inference, infer
from imnot_proxy.recording.replay import Fidelity, replay_rendered
from imnot_proxy.recording.sources import read_any

DATA = Path(__file__).resolve().parents[1] / "data"
GOLDEN = DATA / "infer"
UPDATE = os.environ.get("IMNOT_UPDATE_GOLDEN") == "1"


def recording(case: Path) -> Path:
    own = case / "recording.har"
    return own if own.exists() else DATA / "har" / f"{case.name}.har"


def host_filter(case: Path) -> list[str]:
    file = case / "hosts"
    return file.read_text("utf-8").split() if file.exists() else []


def report(result: Inference, fidelity: Fidelity | None) -> str:
    lines = [f"flows: {result.flow_count}", f"hosts: {', '.join(result.hosts)}"]
    for title, rows in (("inferred", result.inferred), ("skipped", result.skipped)):
        lines.append(f"{title}:")
        lines += [f"  {r.flows} | {r.request} | {r.outcome} | {r.why}" for r in rows]
    lines.append("notes:")
    lines += [f"  {note}" for note in result.notes]
    lines += [f"gaps of {dp.name}: {gap}" for dp in result.datapoints for gap in dp.gaps]
    assert fidelity is not None
    lines.append(f"replay check: {fidelity.score}")
    lines += [f"  flow {s.n} {s.request}: " + "; ".join(str(d) for d in s.differences)
              for s in fidelity.differing]
    return "\n".join(lines) + "\n"


def produced(case: Path) -> dict[str, str]:
    har = recording(case)
    result = infer(read_any(har), case.name, hosts=host_filter(case))
    rendered = yamlout.render(result, [har.name], case / case.name)
    fidelity = replay_rendered(rendered, case / case.name, read_any(har), host_filter(case))
    return {**rendered.files(), "report.txt": report(result, fidelity)}


def stored(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_bytes().decode("utf-8")
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", sorted(p for p in GOLDEN.iterdir() if p.is_dir()),
                         ids=lambda p: p.name)
def test_inference_matches_the_stored_output(case: Path) -> None:
    files = produced(case)
    expected = case / "expected"
    if UPDATE:
        shutil.rmtree(expected, ignore_errors=True)
        for relative, text in files.items():
            path = expected / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
    assert files == stored(expected)
