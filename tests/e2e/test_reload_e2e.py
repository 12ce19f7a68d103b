"""Live reload through a real mitmdump: all or nothing, under load, and by the file watcher.

A reload swaps the whole route table in one assignment, so a request sees the old
definitions or the new ones, never a mix; a broken file is refused with its
``file:line`` problems and the last good definitions keep serving. The partner
file's static body and header both carry a version number, so a response can be
checked against exactly one version.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import Imnot, StartImnot
from .harness import wait_until

# Warnings are errors; a socket closed late by the interpreter (unraisable) is not.
pytestmark = pytest.mark.filterwarnings("error", "ignore::pytest.PytestUnraisableExceptionWarning")

LOADCO = "http://api.loadco.example"
ITEM = "/loadco/item"


def loadco(version: int) -> str:
    """A valid partner file whose answers name ``version``; its size changes with it."""
    return f"""\
partner: loadco
description: reload fixture, version {version}
hosts:
  - api.loadco.example

datapoints:
  - name: item
    pattern: static
    endpoints:
      - method: GET
        path: {ITEM}
        response:
          status: 200
          headers:
            X-Version: "{version}"
          body:
            version: {version}
            padding: "{'v' * version}"
  - name: only{version}
    pattern: static
    endpoints:
      - method: GET
        path: /loadco/only/{version}
        response:
          body: {{only: {version}}}
"""


def expected_body(version: int) -> dict[str, Any]:
    return {"version": version, "padding": "v" * version}


def broken(version: int, kind: str) -> tuple[str, int]:
    """A broken edit of version ``version``'s file and the line its problem is on."""
    text = loadco(version)
    lines = text.splitlines(keepends=True)
    if kind == "syntax":
        at = next(i for i, line in enumerate(lines) if "X-Version" in line)
        lines[at] = f'            X-Version: "{version}": oops\n'
    elif kind == "type":
        at = next(i for i, line in enumerate(lines) if "status: 200" in line)
        lines[at] = "          status: two hundred\n"
    elif kind == "pattern":
        at = next(i for i, line in enumerate(lines) if "pattern: static" in line)
        lines[at] = "    pattern: statik\n"
    else:
        raise AssertionError(kind)
    return "".join(lines), at + 1


BROKEN_KINDS = ("syntax", "type", "pattern")


def write_atomic(path: Path, text: str) -> None:
    """Replace a file in one step, as editors do, so a watcher never reads half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def reload(imnot: Imnot) -> tuple[int, dict[str, Any]]:
    reply = imnot.admin("POST", "reload")
    assert reply.status == 200, reply.text
    return reply.status, reply.json()


def served_version(imnot: Imnot) -> int:
    reply = imnot.request("GET", f"{LOADCO}{ITEM}")
    assert reply.status == 200, reply.text
    return int(reply.json()["version"])


def problem_at(problems: list[str], file: Path, line: int) -> bool:
    return any(p.startswith(f"{file}:{line} ") for p in problems)


@pytest.fixture(scope="module")
def partners_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("reload") / "partners"
    write_atomic(target / "loadco" / "partner.yaml", loadco(1))
    return target


@pytest.fixture(scope="module")
def imnot(start_imnot: StartImnot, partners_dir: Path) -> Imnot:
    """A proxy without a watcher: reloads happen only when a test asks."""
    return start_imnot(partners_dir, name="reload")


@pytest.fixture
def loadco_file(imnot: Imnot, partners_dir: Path) -> Path:
    """The loadco file, reset to version 1 and loaded."""
    path = partners_dir / "loadco" / "partner.yaml"
    write_atomic(path, loadco(1))
    for extra in partners_dir.iterdir():
        if extra.name != "loadco":
            for file in extra.glob("*"):
                file.unlink()
            extra.rmdir()
    assert reload(imnot)[0] == 200
    return path


# --------------------------------------------------------------------------- reload


def test_reload_swaps_routes_at_once(imnot: Imnot, loadco_file: Path,
                                     partners_dir: Path) -> None:
    assert imnot.request("GET", f"{LOADCO}/loadco/only/1").json() == {"only": 1}
    write_atomic(loadco_file, loadco(2))
    write_atomic(partners_dir / "second" / "partner.yaml",
                 loadco(7).replace("loadco", "second"))

    status, report = reload(imnot)
    assert status == 200
    assert (report["status"], report["problems"]) == ("ok", [])
    assert sorted(report["partners"]) == ["loadco", "second"]
    assert any("/loadco/only/2" in r for r in report["routes_added"])
    assert any("/loadco/only/1" in r for r in report["routes_removed"])
    assert any("/second/item" in r for r in report["routes_added"])
    # the original's keys, with its meaning
    assert "GET /loadco/only/2" in report["added"] and "GET /second/item" in report["added"]
    assert "GET /loadco/item" in report["updated"] and report["conflicts"] == []

    assert served_version(imnot) == 2
    assert imnot.direct("GET", "/loadco/only/1").status == 404
    assert imnot.request("GET", f"{LOADCO}/loadco/only/2").json() == {"only": 2}
    assert imnot.request("GET", "http://api.second.example/second/item").json() == \
        expected_body(7)

    (partners_dir / "second" / "partner.yaml").unlink()
    status, report = reload(imnot)
    assert status == 200
    assert report["partners"] == ["loadco"]
    assert any("/second/item" in r for r in report["routes_removed"])
    assert imnot.direct("GET", "/second/item").status == 404


@pytest.mark.parametrize("kind", BROKEN_KINDS)
def test_broken_file_is_refused_reported_and_the_last_good_keeps_serving(
        imnot: Imnot, loadco_file: Path, kind: str) -> None:
    text, line = broken(2, kind)
    write_atomic(loadco_file, text)
    status, report = reload(imnot)
    assert report["status"] == "partial"
    assert report["kept"] == [str(loadco_file)]
    assert problem_at(report["problems"], loadco_file, line), report["problems"]
    assert served_version(imnot) == 1
    assert imnot.request("GET", f"{LOADCO}/loadco/only/1").json() == {"only": 1}

    last = imnot.admin("GET", "status").json()["last_reload"]
    assert {k: last[k] for k in ("status", "problems", "at")} == {
        "status": "partial", "problems": report["problems"], "at": report["at"]}

    write_atomic(loadco_file, loadco(3))
    assert reload(imnot)[0] == 200
    assert served_version(imnot) == 3
    last = imnot.admin("GET", "status").json()["last_reload"]
    assert (last["status"], last["problems"]) == ("ok", [])


# --------------------------------------------------------------------------- under load


@dataclass(frozen=True)
class Sample:
    sent: float
    received: float
    status: int
    header: str | None
    body: bytes


@dataclass(frozen=True)
class Reload:
    started: float
    ended: float
    live_after: int


def allowed_versions(sample: Sample, reloads: list[Reload], initial: int) -> set[int]:
    """Versions live at some moment while ``sample`` was in flight."""
    before = [r for r in reloads if r.ended < sample.sent]
    allowed = {before[-1].live_after if before else initial}
    allowed |= {r.live_after for r in reloads
                if r.started <= sample.received and r.ended >= sample.sent}
    return allowed


THREADS = 4
MAX_REQUESTS = 4000
RELOADS = 20


def test_reload_under_load_serves_old_or_new_never_a_mix(imnot: Imnot,
                                                         loadco_file: Path) -> None:
    samples: list[list[Sample]] = [[] for _ in range(THREADS)]
    seen: set[int] = set()
    seen_lock = threading.Lock()
    stop = threading.Event()
    deadline = time.monotonic() + 40

    def client(index: int) -> None:
        send: Callable[[], Any] = (
            (lambda: imnot.request("GET", f"{LOADCO}{ITEM}")) if index % 2 == 0
            else (lambda: imnot.direct("GET", ITEM)))
        for _ in range(MAX_REQUESTS):
            if stop.is_set() or time.monotonic() > deadline:
                return
            sent = time.monotonic()
            try:
                reply = send()
                sample = Sample(sent, time.monotonic(), reply.status,
                                reply.headers.get("X-Version"), reply.body)
            except (OSError, http.client.HTTPException) as exc:
                sample = Sample(sent, time.monotonic(), 0, None, repr(exc).encode())
            samples[index].append(sample)
            if sample.header:
                with seen_lock:
                    seen.add(int(sample.header))

    def total() -> int:
        return sum(len(s) for s in samples)

    threads = [threading.Thread(target=client, args=(i,), name=f"load-{i}", daemon=True)
               for i in range(THREADS)]
    for thread in threads:
        thread.start()
    reloads: list[Reload] = []
    good = {1}
    try:
        wait_until(lambda: all(len(s) >= 3 for s in samples), timeout=15,
                   message="clients did not get going")
        live = 1
        for n in range(RELOADS):
            if n % 2 == 0:
                live += 1
                write_atomic(loadco_file, loadco(live))
                expect_status = "ok"
            else:
                text, line = broken(live + 1, BROKEN_KINDS[(n // 2) % len(BROKEN_KINDS)])
                write_atomic(loadco_file, text)
                expect_status = "partial"
            count = total()
            started = time.monotonic()
            _, report = reload(imnot)
            reloads.append(Reload(started, time.monotonic(), live))
            assert report["status"] == expect_status, report
            if expect_status == "ok":
                good.add(live)
                wait_until(lambda v=live: v in seen, timeout=10,
                           message=f"version {live} never served")
            else:
                assert problem_at(report["problems"], loadco_file, line), report
            wait_until(lambda c=count: total() >= c + 2 * THREADS, timeout=10,
                       message="the clients stalled")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a client thread did not finish"

    everything = [s for thread_samples in samples for s in thread_samples]
    failures = [(s.status, s.body[:200]) for s in everything if s.status != 200]
    assert failures == [], f"{len(failures)} of {len(everything)} requests failed"
    for thread_samples in samples:
        versions = []
        for sample in thread_samples:
            assert sample.header is not None
            version = int(sample.header)
            assert json.loads(sample.body) == expected_body(version), "body and header mixed"
            assert version in allowed_versions(sample, reloads, initial=1), (
                f"version {version} served outside its time")
            versions.append(version)
        assert versions == sorted(versions), "a client saw an older version after a newer one"
    overlapping = [s for s in everything
                   if any(r.started <= s.received and r.ended >= s.sent for r in reloads)]
    assert overlapping, "no request was in flight during a reload: the test proved nothing"
    assert seen == good
    assert served_version(imnot) == max(good)


# --------------------------------------------------------------------------- watcher


@pytest.fixture(scope="module")
def watched_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("watched") / "partners"
    write_atomic(target / "loadco" / "partner.yaml", loadco(1))
    return target


@pytest.fixture(scope="module")
def watched(start_imnot: StartImnot, watched_dir: Path) -> Imnot:
    return start_imnot(watched_dir, name="watched", imnot_watch=True)


def test_watcher_picks_up_edits_refuses_broken_ones_and_new_files(
        watched: Imnot, watched_dir: Path) -> None:
    path = watched_dir / "loadco" / "partner.yaml"
    assert served_version(watched) == 1

    write_atomic(path, loadco(2))
    wait_until(lambda: served_version(watched) == 2, timeout=15,
               message="the watcher did not serve the edited body")

    text, line = broken(3, "type")
    write_atomic(path, text)

    def refused() -> dict[str, Any] | None:
        last = watched.admin("GET", "status").json()["last_reload"]
        return last if last and last["status"] == "partial" else None

    report = wait_until(refused, timeout=15, message="the broken edit was never reported")
    assert problem_at(report["problems"], path, line), report["problems"]
    assert served_version(watched) == 2

    added = watched_dir / "second" / "partner.yaml"
    write_atomic(path, loadco(4))
    write_atomic(added, loadco(5).replace("loadco", "second"))
    wait_until(lambda: served_version(watched) == 4
               and watched.direct("GET", "/second/item").status == 200, timeout=15,
               message="the fixed file or the new partner file was not served")
    assert watched.admin("GET", "status").json()["last_reload"]["status"] == "ok"

    added.unlink()
    wait_until(lambda: watched.direct("GET", "/second/item").status == 404, timeout=15,
               message="a removed partner file kept serving")
