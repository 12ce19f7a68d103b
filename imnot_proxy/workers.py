"""``imnot-proxy start --workers N``: N lean proxy processes on one port, one supervisor.

Each worker is a whole lean proxy (``python -m imnot_proxy.workers <proxy argv>``)
whose listening sockets set ``SO_REUSEPORT``: the kernel spreads new connections
over the workers' sockets, with no process in between (see docs/scaling.md for
why not a parent that accepts and hands sockets over). Workers share the store (a
SQLite file in WAL mode, or Redis) and the CA, which the supervisor creates before
the first worker starts so that they cannot race to make two.

The supervisor restarts a worker that dies, stops all of them on SIGTERM or SIGINT,
and gives up (stopping the others, exiting with the worker's code) when a worker
fails right after starting several times in a row: a bad option, a store that
cannot be opened (code 2) or a port held by another program.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

START_GRACE = 10.0  # seconds a worker must live to count as started
CONFIG_ERROR = 2  # a worker's exit code for options or a store it cannot use
GIVE_UP_AFTER = 3  # quick failures in a row of one worker
STOP_TIMEOUT = 10.0


def worker_count(text: str) -> int:
    """``auto`` (the cores this process may use) or a number from 1 to 256."""
    if text == "auto":
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not Linux
            return max(1, os.cpu_count() or 1)
    if not text.isdigit() or not 1 <= int(text) <= 256:
        raise ValueError(f"--workers must be auto or a number from 1 to 256, not {text!r}")
    return int(text)


@dataclass
class Worker:
    number: int
    argv: list[str]
    proc: subprocess.Popen | None = None
    started: float = 0.0
    quick_failures: int = 0
    restarts: list[float] = field(default_factory=list)

    def start(self) -> None:
        env = {**os.environ, "IMNOT_WORKER": str(self.number)}
        self.proc = subprocess.Popen(self.argv, env=env)
        self.started = time.monotonic()


class Supervisor:
    def __init__(self, proxy_argv: Sequence[str], count: int, *, label: str = ""):
        command = [sys.executable, "-m", "imnot_proxy.workers", *proxy_argv]
        self.workers = [Worker(n, command) for n in range(1, count + 1)]
        self.label = label
        self._stop = threading.Event()
        self.signalled: int | None = None

    def _on_signal(self, signum: int, frame: object) -> None:
        self.signalled = signum
        self._stop.set()

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._on_signal)
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for worker in self.workers:
                worker.start()
            say(f"{len(self.workers)} workers{self.label} (pids "
                f"{', '.join(str(w.proc.pid) for w in self.workers if w.proc)})")
            code = self._watch()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def _watch(self) -> int:
        while not self._stop.wait(0.1):
            for worker in self.workers:
                assert worker.proc is not None
                code = worker.proc.poll()
                if code is None:
                    if time.monotonic() - worker.started > START_GRACE:
                        worker.quick_failures = 0
                    continue
                quick = time.monotonic() - worker.started < START_GRACE
                worker.quick_failures = worker.quick_failures + 1 if quick else 0
                if worker.quick_failures >= GIVE_UP_AFTER or code == CONFIG_ERROR:
                    say(f"worker {worker.number} failed at start (exit code {code}); "
                        "stopping")
                    return code if code > 0 else 1
                say(f"worker {worker.number} (pid {worker.proc.pid}) exited with code "
                    f"{code}; starting it again")
                worker.restarts.append(time.monotonic())
                worker.start()
        return 0

    def _stop_all(self) -> None:
        running = [w.proc for w in self.workers if w.proc is not None and w.proc.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for proc in running:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def say(text: str) -> None:
    print(f"imnot-proxy: {text}", file=sys.stderr, flush=True)


def supervise(proxy_argv: Sequence[str], count: int, *, confdir: str | None = None,
              label: str = "") -> int:
    from .ca import ensure_ca

    ensure_ca(confdir)  # one CA for every worker, made before any of them starts
    return Supervisor(proxy_argv, count, label=label).run()


if __name__ == "__main__":  # one worker: the lean engine, its listeners with SO_REUSEPORT
    from . import lean

    sys.exit(lean.run(sys.argv[1:], reuse_port=True))
