"""``imnot-proxy start --workers N``: N lean proxy processes on one port, one supervisor.

Each worker is a whole lean proxy (``python -m imnot_proxy.workers <proxy argv>``)
whose listening sockets set ``SO_REUSEPORT``: the kernel spreads new connections
over the workers' sockets, with no process in between (see docs/scaling.md for
why not a parent that accepts and hands sockets over). Workers share the store (a
SQLite file in WAL mode, or Redis) and the CA, which the supervisor creates before
the first worker starts so that they cannot race to make two.

The supervisor starts one worker, and the others once it listens: a start that fails (a
bad option, a store that cannot be opened, code 2) is told once, by that worker. Each
worker tells the supervisor through a pipe when it listens (``IMNOT_READY_FD``); once all
do, the supervisor says so (``on_listening``). It restarts a worker that dies, stops all of
them on SIGTERM or SIGINT, and gives up (stopping the others, exiting with the worker's
code) when a worker fails right after starting several times in a row (a port held by
another program).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

START_GRACE = 10.0  # seconds a worker must live to count as started
CONFIG_ERROR = 2  # a worker's exit code for options or a store it cannot use
GIVE_UP_AFTER = 3  # quick failures in a row of one worker
STOP_TIMEOUT = 10.0
READY_FD = "IMNOT_READY_FD"  # the pipe a worker writes one byte to once it listens


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
    ready: bool = False
    _ready_pipe: int | None = None

    def start(self) -> None:
        self._close_pipe()
        read, write = os.pipe()
        env = {**os.environ, "IMNOT_WORKER": str(self.number), READY_FD: str(write)}
        try:
            self.proc = subprocess.Popen(self.argv, env=env, pass_fds=(write,))
        finally:
            os.close(write)
        self._ready_pipe = read
        self.ready = False
        self.started = time.monotonic()

    def check_ready(self) -> bool:
        """Whether the worker said it listens (without waiting)."""
        if not self.ready and self._ready_pipe is not None:
            readable, _, _ = select.select([self._ready_pipe], [], [], 0)
            if readable:
                self.ready = os.read(self._ready_pipe, 1) == b"1"
                self._close_pipe()
        return self.ready

    def _close_pipe(self) -> None:
        if self._ready_pipe is not None:
            os.close(self._ready_pipe)
            self._ready_pipe = None


class Supervisor:
    def __init__(self, proxy_argv: Sequence[str], count: int, *, label: str = "",
                 verbose: bool = False, on_listening: Callable[[], None] | None = None):
        command = [sys.executable, "-m", "imnot_proxy.workers",
                   *(["--verbose"] if verbose else []), "--", *proxy_argv]
        self.workers = [Worker(n, command) for n in range(1, count + 1)]
        self.label = label
        self.on_listening = on_listening
        self.listening = False
        self._stop = threading.Event()
        self.signalled: int | None = None

    def _on_signal(self, signum: int, frame: object) -> None:
        self.signalled = signum
        self._stop.set()

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._on_signal)
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.workers[0].start()  # the others once it listens: a failed start is told once
            code = self._watch()
        finally:
            self._stop_all()
            for worker in self.workers:
                worker._close_pipe()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def _watch(self) -> int:
        while not self._stop.wait(0.05):
            if not self.listening and self._all_ready():
                continue
            for worker in self.workers:
                if worker.proc is None:
                    continue
                code = worker.proc.poll()
                if code is None:
                    if time.monotonic() - worker.started > START_GRACE:
                        worker.quick_failures = 0
                    continue
                quick = time.monotonic() - worker.started < START_GRACE
                worker.quick_failures = worker.quick_failures + 1 if quick else 0
                if worker.quick_failures >= GIVE_UP_AFTER or code == CONFIG_ERROR:
                    if self.listening or code != CONFIG_ERROR:  # else the worker said why
                        say(f"worker {worker.number} failed at start (exit code {code}); "
                            "stopping")
                    return code if code > 0 else 1
                say(f"worker {worker.number} (pid {worker.proc.pid}) exited with code "
                    f"{code}; starting it again")
                worker.restarts.append(time.monotonic())
                worker.start()
        return 0

    def _all_ready(self) -> bool:
        """Start the other workers once the first listens; say so once all of them do.
        False while waiting, so that the caller goes on watching for failures."""
        first = self.workers[0]
        if not first.check_ready():
            return False
        for worker in self.workers[1:]:
            if worker.proc is None:
                worker.start()
        if not all(w.check_ready() for w in self.workers):
            return False
        self.listening = True
        if self.on_listening is not None:
            self.on_listening()
        say(f"{len(self.workers)} workers{self.label} (pids "
            f"{', '.join(str(w.proc.pid) for w in self.workers if w.proc)})")
        return True

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
              label: str = "", verbose: bool = False,
              on_listening: Callable[[], None] | None = None) -> int:
    from .ca import ensure_ca

    ensure_ca(confdir)  # one CA for every worker, made before any of them starts
    return Supervisor(proxy_argv, count, label=label, verbose=verbose,
                      on_listening=on_listening).run()


def tell_supervisor() -> None:
    """A worker listens: one byte down the pipe the supervisor gave it (if any)."""
    fd = os.environ.pop(READY_FD, None)
    if fd is not None and fd.isdigit():
        try:
            os.write(int(fd), b"1")
            os.close(int(fd))
        except OSError:
            pass  # the supervisor is gone; it would stop this worker anyway


def worker_main(argv: Sequence[str]) -> int:
    """One worker: ``[--verbose] -- <proxy argv>``, the lean engine with ``SO_REUSEPORT``."""
    from . import lean

    cut = list(argv).index("--") if "--" in argv else 0
    verbose = "--verbose" in argv[:cut]
    proxy_argv = list(argv[cut + 1:] if "--" in argv else argv)
    return lean.run(proxy_argv, print_flows=verbose, reuse_port=True,
                    on_listening=tell_supervisor)


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
