"""The ``scale`` measurement of ``scripts/bench``: workers and the Redis store.

Servers (lean engine, same partners, interleaved rounds, one run):
  lean         imnot-proxy start, SQLite store (one process)
  lean-w2      imnot-proxy start --workers 2, the same SQLite file shared by both workers
  lean-redis   imnot-proxy start --db redis://127.0.0.1:<port>/0 on a redis-server that
               this run starts (append-only file, fsync every second, like SQLite's
               synchronous=NORMAL)
Checks: static and polling req/s of lean-w2 over lean (budget ≥ 1.7× on a 2-core box),
polling and session-fetch req/s of lean-redis over lean (budget ≥ 0.85×), and CPU µs
per request of both stores (the proxy's, and redis-server's beside it). The load
generator is wrk with one thread (``-t1``): at most one core of the box.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from types import ModuleType
from typing import Any

WORKERS_BUDGET = 1.7
REDIS_BUDGET = 0.85
ENGINES = ("lean", "lean-w2", "lean-redis")
PAIRS = (  # (scenario, engine, over engine, budget)
    ("static", "lean-w2", "lean", WORKERS_BUDGET),
    ("polling", "lean-w2", "lean", WORKERS_BUDGET),
    ("polling", "lean-redis", "lean", REDIS_BUDGET),
    ("session", "lean-redis", "lean", REDIS_BUDGET),
)


def start_redis(bench: ModuleType, work: Path) -> tuple[subprocess.Popen | None, int]:
    binary = shutil.which("redis-server")
    if binary is None:
        bench.log("redis-server not found (apt-get install redis-server): no lean-redis rows")
        return None, 0
    port = bench.free_port()
    folder = work / "redis"
    folder.mkdir(exist_ok=True)
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir",
                             str(folder), "--save", "", "--appendonly", "yes",
                             "--appendfsync", "everysec", "--logfile", str(folder / "log")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            bench.socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def build(bench: ModuleType, fleet: Any, engine: str, redis_port: int) -> Any:
    server = fleet.build("lean", engine)
    cmd = list(server.cmd)
    if engine == "lean-w2":
        cmd[2:2] = ["--workers", "2"]
    elif engine == "lean-redis":
        cmd[cmd.index("--db") + 1] = f"redis://127.0.0.1:{redis_port}/0?prefix=bench"
    server.cmd = cmd
    return server


def run_scale(bench: ModuleType, fleet: Any, load: Any, rounds: int, dur: int, warmup: int,
              conc: list[int]) -> tuple[dict[str, Any], list[str]]:
    redis, redis_port = start_redis(bench, fleet.work)
    engines = [e for e in ENGINES if e != "lean-redis" or redis is not None]
    scenarios = [s for s in bench.SCENARIOS if s.name in ("static", "polling", "session")]
    servers = {}
    samples: dict[str, list[Any]] = {}
    redis_ticks: dict[str, list[float]] = {}
    try:
        for engine in engines:
            server = servers[engine] = fleet.start(build(bench, fleet, engine, redis_port))
            bench.log(f"started {engine} on :{server.port}: {' '.join(server.cmd)}")
        for sc in scenarios:
            for engine in engines:
                load.run(servers[engine], sc, "lean", max(conc), warmup, 0)
        for rnd in range(rounds):
            for c in conc:
                for sc in scenarios:
                    for engine in engines:
                        before = bench.load_shared().cpu_ticks(redis.pid) if redis else 0
                        s = load.run(servers[engine], sc, "lean", c, dur, 0)
                        spent = (bench.load_shared().cpu_ticks(redis.pid) - before
                                 if redis else 0)
                        key = f"{sc.name}|{engine}|{c}"
                        samples.setdefault(key, []).append(s)
                        redis_ticks.setdefault(key, []).append(
                            1e6 * spent / bench.TICK / max(1, s.requests))
                        bench.log(f"scale round {rnd + 1} c={c:<3} {sc.name:8} {engine:10} "
                                  f"{s.rps:8.0f} req/s {s.us_per_req:.0f}us/req "
                                  f"box={s.box_cpu:.0f}% err={s.errors}")
    finally:
        for server in servers.values():
            server.stop()
        if redis is not None:
            redis.terminate()
            redis.wait(10)
    return summarize(bench, samples, redis_ticks, conc, engines)


def summarize(bench: ModuleType, samples: dict[str, list[Any]],
              redis_ticks: dict[str, list[float]], conc: list[int],
              engines: list[str]) -> tuple[dict[str, Any], list[str]]:
    med = bench.med
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    out = [f"\nScale (wrk -t1: one load-generator core at most; medians over rounds; load "
           f"average at the end {load} on {os.cpu_count()} cores):\n",
           "| scenario | engine | c | req/s | p99 ms | proxy CPU µs/req | redis-server CPU "
           "µs/req | box CPU % | errors |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    rows = []
    for name in ("static", "polling", "session"):
        for engine in engines:
            for c in conc:
                ss = samples.get(f"{name}|{engine}|{c}")
                if not ss:
                    continue
                red = redis_ticks[f"{name}|{engine}|{c}"]
                red_us = sorted(red)[len(red) // 2] if engine == "lean-redis" else None
                out.append(f"| {name} | {engine} | {c} | {bench.fmt(med(ss, 'rps'))} | "
                           f"{bench.fmt(med(ss, 'p99'), '.2f')} | "
                           f"{bench.fmt(med(ss, 'us_per_req'))} | {bench.fmt(red_us)} | "
                           f"{bench.fmt(med(ss, 'box_cpu'))} | {sum(s.errors for s in ss)} |")
                rows.append({"scenario": name, "engine": engine, "c": c,
                             "rps": med(ss, "rps"), "us_per_req": med(ss, "us_per_req"),
                             "redis_us_per_req": red_us, "box_cpu": med(ss, "box_cpu")})
    out += ["", "| check | c | measured | budget | verdict | CPU-efficiency ratio |",
            "|---|---:|---:|---:|---|---:|"]
    checks = []
    for name, engine, base, budget in PAIRS:
        for c in conc:
            row, ref = samples.get(f"{name}|{engine}|{c}"), samples.get(f"{name}|{base}|{c}")
            if not row or not ref:
                continue
            r = med(row, "rps") / med(ref, "rps") if med(ref, "rps") else None
            # workers: CPU per request should stay flat; redis: the proxy's and redis's
            extra = med(row, "us_per_req")
            if engine == "lean-redis":
                red = redis_ticks[f"{name}|{engine}|{c}"]
                extra += sorted(red)[len(red) // 2]
            eff = med(ref, "us_per_req") / extra if extra else None
            ok = None if r is None else r >= budget
            out.append(f"| {name} {engine} / {base} req/s | {c} | {bench.fmt(r, '.2f')}× | "
                       f"≥ {budget}× | {bench.verdict(ok)} | {bench.fmt(eff, '.2f')}× |")
            checks.append({"check": f"{name} {engine}/{base} req/s", "c": c, "ratio": r,
                           "budget": f">={budget}", "ok": ok, "cpu_efficiency": eff})
    return {"rows": rows, "checks": checks}, out
