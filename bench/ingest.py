"""Chat ingest benchmark: N visitors post messages and read the bot's answer.

    .venv/bin/python bench/ingest.py [--visitors 16] [--rounds 3] [--seconds 15] [--workers 4] [--threads 1]
                                     [--no-push]

Starts gunicorn on PostgreSQL (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/hafen_bench; the database is dropped and
created afresh, so its name must contain "bench"), migrates it, seeds the demo
inbox with its FAQ, then runs three phases against the same server:

1. chat:  POST /api/chat/demo-website/messages with FAQ questions (bot answers
          in the same response; full product path: token, consent redaction,
          encryption, bot, one INSERT for both messages, one UPDATE);
2. floor: POST /bench/floor/ (bench-only view, bench/floor_urls.py) that
          inserts one plain unencrypted row with the ORM: the floor of this stack;
3. floor-raw: the same with one raw SQL INSERT (the floor without the ORM),

in --rounds rounds (chat, floor, floor-raw, chat, ...), so that a slow minute of
the shared machine does not fall on one phase only; each mode's figures pool
its rounds (messages over measured seconds; latency quantiles of all requests).

The same gunicorn (default 4 workers x 1 thread: on 2 cores shared with
PostgreSQL and this load generator it gave the best p95 and the fastest floor
of 2x4, 3x2 and 4x1) serves all phases, with DEBUG off (bench/settings.py).
Each visitor is a thread with its own keep-alive HTTP connection. Prints
messages/s and p50/p95/p99 latency per phase, the chat/floor ratio, and the
CPU each phase cost per message by kind of process (gunicorn workers,
PostgreSQL, Redis, the load generator) and the steal (the hypervisor's share),
from /proc over the measured seconds.
Rate limits are switched off for the run (HAFEN_RATE_*=0). --no-push runs the
server without a channel layer (BENCH_NO_PUSH, bench/settings.py), so a message
publishes no event: what the push costs is the difference to a run without it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import PY, bench_env, free_port, fresh_database, start_gunicorn  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/hafen_bench"
QUESTIONS = [
    "Wann haben Sie geöffnet?",
    "What are your opening hours?",
    "Wo ist mein Paket?",
    "How do I return an item?",
    "Welche Zahlungsarten gibt es?",
    "Which payment methods do you accept?",
]


def prepare(env: dict[str, str]) -> None:
    def manage(*args: str) -> None:
        subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)

    manage("migrate", "--noinput", "-v", "0")
    manage("seed_demo")
    manage(
        "shell",
        "-c",
        "from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    c.execute('CREATE TABLE bench_floor (id bigserial PRIMARY KEY, body text NOT NULL, "
        "created_at timestamptz NOT NULL)')",
    )


def request(conn, method: str, path: str, body=None, token: str | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    return response.status, data


def visitor(
    mode: str, port: int, stop_at: float, warm_until: float, out: list, errors: list, n: int
):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    token = None
    if mode == "chat":
        status, data = request(conn, "POST", "/api/chat/demo-website/conversations")
        if status != 201:
            errors.append(status)
            return
        token = json.loads(data)["token"]
    i = n
    while True:
        now = time.perf_counter()
        if now >= stop_at:
            break
        text = QUESTIONS[i % len(QUESTIONS)]
        i += 1
        if mode == "chat":
            status, data = request(
                conn, "POST", "/api/chat/demo-website/messages", {"text": text}, token
            )
            ok = status == 200 and json.loads(data)["replies"][0]["sender"] == "bot"
        else:
            status, data = request(conn, "POST", f"/bench/{mode}/", {"text": text})
            ok = status == 200
        elapsed = time.perf_counter() - now
        if not ok:
            errors.append(status)
        elif now >= warm_until:
            out.append(elapsed)
    conn.close()


HZ = os.sysconf("SC_CLK_TCK")


def cpu_ticks(server_pid: int) -> dict[str, int]:
    """CPU ticks (user + system) so far of each kind of process on this machine:
    the gunicorn workers (children of `server_pid`), PostgreSQL's processes,
    redis-server, this load generator; and the machine's steal (time the
    hypervisor gave another guest), from /proc."""
    ticks = {"workers": 0, "postgres": 0, "redis": 0, "load": 0}
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:  # gone meanwhile
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        ppid, used = int(fields[1]), int(fields[11]) + int(fields[12])
        pid = int(entry)
        if ppid == server_pid:
            ticks["workers"] += used
        elif comm == "postgres":
            # + the children it reaped (the postmaster: backends that exited,
            # a connection is kept CONN_MAX_AGE seconds)
            ticks["postgres"] += used + int(fields[13]) + int(fields[14])
        elif comm == "redis-server":
            ticks["redis"] += used
        elif pid == me:
            ticks["load"] += used
    with open("/proc/stat") as f:
        ticks["steal"] = int(f.readline().split()[8])
    return ticks


def run_phase(
    mode: str, port: int, visitors: int, seconds: float, warmup: float, server_pid: int
) -> dict:
    start = time.perf_counter()
    warm_until = start + warmup
    stop_at = warm_until + seconds
    cpu: list[dict[str, int]] = []

    def measure_cpu() -> None:
        for moment in (warm_until, stop_at):
            time.sleep(max(0.0, moment - time.perf_counter()))
            cpu.append(cpu_ticks(server_pid))

    sampler = threading.Thread(target=measure_cpu)
    sampler.start()
    results: list[list[float]] = [[] for _ in range(visitors)]
    errors: list = []
    threads = [
        threading.Thread(
            target=visitor, args=(mode, port, stop_at, warm_until, results[n], errors, n)
        )
        for n in range(visitors)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sampler.join()
    latencies = sorted(x for r in results for x in r)
    if not latencies:
        sys.exit(f"{mode}: no successful request ({len(errors)} errors: {errors[:5]})")
    used = {kind: cpu[1][kind] - cpu[0][kind] for kind in cpu[0]}
    return {
        "mode": mode,
        "latencies": latencies,
        "seconds": seconds,
        "errors": len(errors),
        "cpu": used,
    }


def summary(mode: str, phases: list[dict]) -> dict:
    """One mode's phases pooled: messages over total measured seconds, latency quantiles."""
    latencies = sorted(x for p in phases for x in p["latencies"])
    q = statistics.quantiles(latencies, n=100)
    return {
        "mode": mode,
        "messages": len(latencies),
        "per_second": len(latencies) / sum(p["seconds"] for p in phases),
        "p50_ms": q[49] * 1000,
        "p95_ms": q[94] * 1000,
        "p99_ms": q[98] * 1000,
        "errors": sum(p["errors"] for p in phases),
        # CPU ms per message by process kind (ticks in the measured seconds);
        # steal: ms per message the hypervisor took from this machine's cores.
        "cpu_ms": {
            kind: sum(p["cpu"][kind] for p in phases) * 1000 / HZ / len(latencies)
            for kind in phases[0]["cpu"]
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-push", action="store_true", help="no channel layer, no events")
    args = parser.parse_args()

    database_url = (
        os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_DB
    )
    env = bench_env(database_url)
    if args.no_push:
        env["BENCH_NO_PUSH"] = "1"
    t0 = time.time()
    fresh_database(database_url)
    prepare(env)
    print(f"prepared a fresh database in {time.time() - t0:.1f}s")
    port = free_port()
    server = start_gunicorn(env, port, args.workers, args.threads)
    modes = ("chat", "floor", "floor-raw")
    phases: dict[str, list[dict]] = {mode: [] for mode in modes}
    try:
        print(
            f"gunicorn {args.workers} workers x {args.threads} threads, "
            f"{args.visitors} visitors, {args.rounds} rounds of {args.seconds:.0f}s per phase "
            f"(+{args.warmup:.0f}s warm-up each)"
        )
        # Rounds alternate the phases, so a slow minute of the machine falls on
        # all of them rather than on one.
        for n in range(1, args.rounds + 1):
            for mode in modes:
                phases[mode].append(
                    run_phase(mode, port, args.visitors, args.seconds, args.warmup, server.pid)
                )
            chat, floor = (len(phases[m][-1]["latencies"]) for m in ("chat", "floor"))
            print(f"round {n}: chat/floor {chat / floor:.0%}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=20)
    results = [summary(mode, phases[mode]) for mode in modes]
    print(f"{'phase':<9} {'msgs/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for r in results:
        print(
            f"{r['mode']:<9} {r['per_second']:8.1f} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} "
            f"{r['p99_ms']:8.1f} {r['errors']:7d}"
        )
    kinds = ("workers", "postgres", "redis", "load", "steal")
    print("CPU ms per message: " + " ".join(f"{k:>9}" for k in kinds))
    for r in results:
        print(f"{r['mode']:<19}" + " ".join(f"{r['cpu_ms'][k]:9.2f}" for k in kinds))
    chat, floor, floor_raw = results
    ratio = chat["per_second"] / floor["per_second"]
    print(f"chat/floor-raw throughput: {chat['per_second'] / floor_raw['per_second']:.0%}")
    print(
        f"chat/floor throughput: {ratio:.0%} (target >= 60%); "
        f"chat p95 {chat['p95_ms']:.1f} ms (target < 50 ms)"
    )


if __name__ == "__main__":
    main()
