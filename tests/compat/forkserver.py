"""Start ``imnot-proxy start`` processes quickly, for the original-suite gate.

The gate needs a fresh proxy for almost every one of the original's tests (each test
expects an empty store). A new interpreter spends about a second importing mitmproxy;
this server imports the CLI once and forks a child per proxy, which then runs
``imnot_proxy.cli.main(["start", ...])``, the same entry point as the console script.

Protocol: one JSON object per line on stdin, one reply per line on stdout.
``{"start": argv, "env": {...}, "log": path, "cwd": dir}`` -> ``{"pid": n}``;
``{"stop": pid}`` -> ``{"stopped": pid, "code": n}`` (SIGTERM, SIGKILL after 10 s).
At the end of its input it stops the children left. They stay in the caller's process
group, so stopping that group stops them too.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

import imnot_proxy.addon  # noqa: F401  (what the child needs, imported before forking)
import imnot_proxy.lean  # noqa: F401
from imnot_proxy import cli


def spawn(argv: list[str], env: dict[str, str], log: str, cwd: str) -> int:
    pid = os.fork()
    if pid:
        return pid
    try:  # the child: become `imnot-proxy start ...` with its own output
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sys.stdout = os.fdopen(1, "w", buffering=1)
        sys.stderr = os.fdopen(2, "w", buffering=1)
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code or 0)


def stop(pid: int) -> int:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def main() -> int:
    if threading.active_count() != 1:  # forking with threads running is unsafe
        print(json.dumps({"error": "threads running after import"}), flush=True)
        return 1
    print(json.dumps({"ready": os.getpid()}), flush=True)
    children: set[int] = set()
    try:
        for line in sys.stdin:
            request = json.loads(line)
            if "start" in request:
                pid = spawn(request["start"], request["env"], request["log"], request["cwd"])
                children.add(pid)
                reply = {"pid": pid}
            elif "stop" in request:
                children.discard(request["stop"])
                reply = {"stopped": request["stop"], "code": stop(request["stop"])}
            else:
                reply = {"error": f"unknown request {request}"}
            print(json.dumps(reply), flush=True)
    finally:  # the caller went away: stop what is left
        for pid in children:
            stop(pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
