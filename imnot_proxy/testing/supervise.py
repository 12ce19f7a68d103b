"""``python -m imnot_proxy.testing.supervise``: keep a test run's proxy no longer than the run.

The proxy a test run starts is shared by every pytest-xdist worker, so it must outlive the
worker that started it and stop with the run. This small parent does both: it runs the
proxy, holds an exclusive lock on ``--alive FILE`` for as long as it lives (whoever stops
it waits for that lock, which the system releases when the process ends however it ends),
and stops the proxy when it gets SIGTERM or when the run's main process (``--owner PID``)
is gone, so a run killed outright leaves no proxy behind.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Sequence

POLL = 0.5  # seconds between two looks at the owner
STOP_TIMEOUT = 10.0  # seconds the proxy gets to stop before it is killed


def owner_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        return True
    return True


def main(argv: Sequence[str] | None = None) -> int:
    import fcntl

    parser = argparse.ArgumentParser(prog="python -m imnot_proxy.testing.supervise")
    parser.add_argument("--owner", type=int, required=True)
    parser.add_argument("--alive", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run")
    alive = open(args.alive, "a+")  # noqa: SIM115 - held open until this process ends
    fcntl.flock(alive, fcntl.LOCK_EX)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    alive.truncate(0)
    alive.write(str(child.pid))
    alive.flush()
    while True:
        try:
            return child.wait(timeout=POLL)  # the proxy ended by itself (a failed start)
        except subprocess.TimeoutExpired:
            pass
        if stopping or not owner_alive(args.owner):
            child.terminate()
            try:
                child.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            return 0


if __name__ == "__main__":
    sys.exit(main())
