"""Load benchmark: visitors using the chat widget, then with Redis stopped and PostgreSQL restarted.

    .venv/bin/python bench/load.py                                   # 500 visitors, 60 s, 3 phases
    .venv/bin/python bench/load.py --visitors 100 --seconds 20 --phases normal

NEEDS ITS OWN PostgreSQL CLUSTER AND REDIS SERVER: it stops and restarts them.
It refuses the machine's shared ports 5432 and 6379. Defaults: PostgreSQL on
5433 (Debian cluster 15/bench), Redis on 6380. Create the cluster once:

    pg_createcluster 15 bench --port 5433 -- --auth=trust

The script starts the cluster (pg_ctlcluster 15 bench start) and a redis-server
(`redis-server --port 6380 --save "" --daemonize yes`, loopback only) when they
are not running, and at the end stops again whatever it started (leave them
running beforehand to keep them). The database `hafen_bench_load` on that
cluster is dropped and created afresh, migrated, seeded with `seed_demo`, and
the demo inbox is switched to "notice required" (--no-notice keeps it off).

Server: gunicorn as in the Procfile (`--workers 4 --threads 1`, gunicorn's
default 2 s keep-alive) with bench/settings.py (DEBUG off), REDIS_URL pointing at
the bench Redis (cache, rate limits, Celery broker), HAFEN_BEHIND_PROXY=1 and the
product's default rate limits. A fresh gunicorn per phase; Redis is flushed
before each phase. No Celery worker runs (the chat path queues no task).

Each visitor is one asyncio task (aiohttp, one shared keep-alive pool; every
visitor sends its own X-Forwarded-For, 10.x.y.z, as a proxy would) doing what
static/hafen/chat.js and consent.js do:

- GET /config (the chat page embeds it); when the notice is required, GET
  /notice, 1-3 s of reading, POST /notice/accept {version} (the token comes
  back); POST /conversations. These start-up steps are retried after no answer,
  a 429 or a 5xx (as a reload would: Retry-After, else 1-8 s) until the end;
- a message every 4-6 s (the first 1-5 s after the start), each with its own
  `client_key` in the body (--no-client-key: none). chat.js retries a post that
  got no answer or a 5xx after 1, 2 and 4 s with the same body, then gives up
  and keeps the text, which the visitor sends again (same key) 2-5 s later; the
  bench repeats that cycle until --grace seconds after the end. A 4xx answer
  (429 included) is final, as in the widget;
- the read path: GET /messages?after=<last id> 2 s after the previous poll
  completed, rescheduled 2 s after each acknowledged post, backed off to
  2 s x min(1 + failures, 8) after failures; a 401 stops the visitor (the
  widget forgets its token).

Visitors arrive spread over --ramp seconds. Each message's text names its key
("... (ref <key>)", letters only so the personal-data detector leaves it alone),
so the check below works whether or not the server stores client_key.

Phases (--phases, default all three, each --seconds long):
  normal    nothing injected;
  redis     redis-server shut down for --redis-down seconds (default 20) in the middle;
  postgres  the cluster restarted once (pg_ctlcluster -m fast ... restart) in the middle.

Printed per phase: requests and their status classes (2xx, 4xx, 429, 5xx, no
answer), error bodies that are not JSON {"error": ...}, 429/503 answers without
Retry-After, p50/p95/p99 latency per
endpoint (answered requests), messages posted/acknowledged/refused/failed and
retried, then the database check: each message's text is decrypted (a Django
child process, bench settings) and counted per key: acknowledged and stored
once, acknowledged but lost, acknowledged but stored more than once, and
refused or failed (never acknowledged) but stored. Fault phases add a timeline
in 5 s buckets. Also printed: the CPU of the load generator itself, of gunicorn
and of the whole machine during each phase, the event loop's lag (a late loop
delays requests: then the figures measure the generator, not the server), and
whether the server's OpenAPI documents `client_key` on message posts.

Bounded: talks to 127.0.0.1 only, every visitor stops at --seconds (+ --grace for
retries of posts in flight), every request has a --timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import shutil
import statistics
import string
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import PY, bench_env, free_port, fresh_database, manage, start_gunicorn  # noqa: E402
from bench.ingest import QUESTIONS  # noqa: E402

INBOX = "demo-website"
DB_NAME = "hafen_bench_load"
SHARED_PORTS = {"postgres": 5432, "redis": 6379}
LOG_DIR = ROOT / "var" / "bench-load"
ENDPOINTS = ("config", "notice", "notice_accept", "start", "post", "poll")
POLL_SECONDS = 2.0  # POLL_INTERVAL_MS of conversations/views/chat.py: the widget's pollMs
RETRY_DELAYS = (1.0, 2.0, 4.0)  # chat.js RETRY_DELAYS: a failed post's automatic retries
BUCKET = 5.0
REF = re.compile(r"\(ref ([a-z]{8,64})\)")


def log(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- #
# the bench's own PostgreSQL cluster and redis-server
# --------------------------------------------------------------------------- #


class Servers:
    """Start, stop and restart the bench's PostgreSQL cluster and redis-server."""

    def __init__(self, *, pg_port: int, pg_version: str, pg_cluster: str, redis_port: int):
        for kind, port in (("postgres", pg_port), ("redis", redis_port)):
            if port == SHARED_PORTS[kind]:
                sys.exit(
                    f"refusing port {port}: the benchmark stops its {kind}; use its own server"
                )
        self.pg_port, self.redis_port = pg_port, redis_port
        self.pg = (pg_version, pg_cluster)
        self.started_pg = self.started_redis = False
        self.pg_data = ""

    # PostgreSQL -------------------------------------------------------------
    def pg_status(self) -> tuple[int, str, str] | None:
        """(port, status, data directory) of the cluster, None if it does not exist."""
        out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            cols = line.split()
            if len(cols) >= 6 and (cols[0], cols[1]) == self.pg:
                return int(cols[2]), cols[3], cols[5]
        return None

    def pg_ensure(self) -> None:
        status = self.pg_status()
        version, cluster = self.pg
        if status is None:
            sys.exit(
                f"no PostgreSQL cluster {version}/{cluster}; create it once with\n"
                f"  pg_createcluster {version} {cluster} --port {self.pg_port} -- --auth=trust"
            )
        port, state, self.pg_data = status
        if port != self.pg_port:
            sys.exit(f"cluster {version}/{cluster} listens on {port}, not {self.pg_port}")
        if state != "online":
            subprocess.run(["pg_ctlcluster", version, cluster, "start"], check=True)
            self.started_pg = True
        self.pg_wait()

    def pg_wait(self, timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            probe = ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.pg_port)]
            if subprocess.run(probe).returncode == 0:
                return
            time.sleep(0.2)
        sys.exit(f"PostgreSQL on {self.pg_port} did not come up")

    def pg_pid(self) -> int | None:
        """The postmaster's pid (first line of postmaster.pid), None when it is down."""
        try:
            first = (Path(self.pg_data) / "postmaster.pid").read_text()
            return int(first.split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def pg_restart_cmd(self) -> list[str]:
        return ["pg_ctlcluster", "-m", "fast", *self.pg, "restart"]

    # Redis ------------------------------------------------------------------
    def redis_cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["redis-cli", "-p", str(self.redis_port), *args], capture_output=True, text=True
        )

    def redis_up(self) -> bool:
        return self.redis_cli("ping").stdout.strip() == "PONG"

    def redis_start_cmd(self) -> list[str]:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        return [
            "redis-server",
            "--port",
            str(self.redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
            "--pidfile",
            f"/tmp/hafen-bench-redis-{self.redis_port}.pid",
            "--logfile",
            str(LOG_DIR / "redis.log"),
        ]

    def redis_stop_cmd(self) -> list[str]:
        return ["redis-cli", "-p", str(self.redis_port), "shutdown", "nosave"]

    def redis_ensure(self) -> None:
        if not self.redis_up():
            subprocess.run(self.redis_start_cmd(), check=True)
            self.started_redis = True
        self.redis_wait()

    def redis_wait(self, timeout: float = 10) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.redis_up():
                return
            time.sleep(0.1)
        sys.exit(f"Redis on {self.redis_port} did not come up")

    def redis_flush(self) -> None:
        self.redis_cli("flushall")

    def stop_started(self) -> None:
        """Stop what this run started (a server that was already running stays up)."""
        if self.started_redis and self.redis_up():
            subprocess.run(self.redis_stop_cmd(), capture_output=True)
        if self.started_pg:
            subprocess.run(["pg_ctlcluster", *self.pg, "stop"], check=False)


# --------------------------------------------------------------------------- #
# CPU accounting from /proc
# --------------------------------------------------------------------------- #

TICK = os.sysconf("SC_CLK_TCK")


def _proc_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def tree_seconds(root: int) -> float:
    """CPU seconds of `root` and its live children (gunicorn's master and workers)."""
    total = _proc_seconds(root)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == root:
                total += _proc_seconds(int(entry.name))
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    cols = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(cols[:8])
    return (total - cols[3] - cols[4]) / TICK, total / TICK


def own_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- #
# the visitors
# --------------------------------------------------------------------------- #


@dataclass
class Posted:
    """One message (one client_key) and what became of it."""

    statuses: list[int] = field(default_factory=list)  # 0 = no answer
    acked: bool = False


@dataclass
class Run:
    """Everything one phase's visitors share and record."""

    session: object
    base: str
    t0: float
    stop_at: float
    give_up_at: float
    timeout: float
    prefix: str
    rng: random.Random
    client_key: bool = True  # send each message's key as client_key (idempotent retries)
    # (t since start, endpoint, status or 0, latency s, bad body)
    records: list[tuple[float, str, int, float, bool]] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)  # client-side exception names
    bad_samples: Counter = field(default_factory=Counter)  # (status, content type) of bad bodies
    messages: dict[str, Posted] = field(default_factory=dict)
    visitors: Counter = field(default_factory=Counter)  # started, gave_up, lost_token
    no_retry_after: Counter = field(default_factory=Counter)  # 429/503 without Retry-After

    def key(self) -> str:
        return self.prefix + "".join(self.rng.choices(string.ascii_lowercase, k=16))


class Visitor:
    def __init__(self, run: Run, n: int, start_delay: float):
        self.run, self.n, self.start_delay = run, n, start_delay
        self.ip = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
        self.token: str | None = None
        self.last_id = 0
        self.next_poll = 0.0
        self.failures = 0
        self.lost = False

    async def call(self, endpoint: str, method: str, path: str, body: bytes | None = None):
        import aiohttp

        run = self.run
        headers = {"Accept": "application/json", "X-Forwarded-For": self.ip}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            headers["Content-Type"] = "application/json"
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        status, data, retry_after, bad = 0, None, None, False
        try:
            async with run.session.request(
                method, f"{run.base}{path}", data=body, headers=headers
            ) as response:
                raw = await response.read()
                status = response.status
                ctype = response.headers.get("Content-Type", "")
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as exc:
            run.errors[type(exc).__name__] += 1
        latency = loop.time() - t0
        if status:
            if ctype.startswith("application/json"):
                try:
                    data = json.loads(raw)
                except ValueError:
                    bad = True
            else:
                bad = True
            if status >= 400 and not (isinstance(data, dict) and "error" in data):
                bad = True
            if bad:
                run.bad_samples[(status, ctype.split(";")[0] or "-")] += 1
            if status in (429, 503) and not retry_after:
                run.no_retry_after[status] += 1
        run.records.append((t0 - run.t0, endpoint, status, latency, bad))
        return status, data, retry_after

    def _delay(self, retry_after: str | None, attempt: int) -> float:
        if retry_after and retry_after.isdigit():
            return min(float(retry_after), 10.0) * self.run.rng.uniform(1.0, 1.2)
        return min(2.0**attempt, 8.0) * self.run.rng.uniform(0.5, 1.0)

    async def until_ok(self, endpoint: str, method: str, path: str, body=None) -> dict | None:
        """A start-up step: retried after no answer, 429 or 5xx (a reload) until the end."""
        payload = json.dumps(body).encode() if body is not None else None
        for attempt in range(1000):
            status, data, retry_after = await self.call(endpoint, method, path, payload)
            if status in (200, 201) and isinstance(data, dict):
                return data
            if status and status != 429 and status < 500:
                return None
            delay = self._delay(retry_after, attempt)
            if time.monotonic() + delay >= self.run.stop_at:
                return None
            await asyncio.sleep(delay)
        return None

    def seen(self, messages: list[dict]) -> None:
        for message in messages:
            if message["id"] > self.last_id:
                self.last_id = message["id"]

    async def main(self) -> None:
        try:
            await self.visit()
        except Exception as exc:  # an answer the widget could not use either
            self.run.visitors[f"crashed ({type(exc).__name__})"] += 1

    async def visit(self) -> None:
        run = self.run
        await asyncio.sleep(self.start_delay)
        config = await self.until_ok("config", "GET", f"/api/chat/{INBOX}/config")
        if config is None:
            run.visitors["gave_up_starting"] += 1
            return
        if config["notice_required"]:
            # consent.js: fetch the full current notice, show it; the visitor reads, accepts
            shown = await self.until_ok("notice", "GET", f"/api/chat/{INBOX}/notice")
            if shown is None:
                run.visitors["gave_up_starting"] += 1
                return
            notice = shown.get("notice") or config["notice"]
            await asyncio.sleep(run.rng.uniform(1.0, 3.0))
            accepted = await self.until_ok(
                "notice_accept",
                "POST",
                f"/api/chat/{INBOX}/notice/accept",
                {"version": notice["version"]},
            )
            if accepted is None:
                run.visitors["gave_up_starting"] += 1
                return
            self.token = accepted.get("token") or self.token
        started = await self.until_ok("start", "POST", f"/api/chat/{INBOX}/conversations")
        if started is None:
            run.visitors["gave_up_starting"] += 1
            return
        self.token = started["token"]
        self.seen(started["messages"])
        run.visitors["started"] += 1
        self.next_poll = time.monotonic() + POLL_SECONDS
        poller = asyncio.create_task(self.poll_loop())
        try:
            await self.send_loop()
        finally:
            poller.cancel()
        if self.lost:
            run.visitors["lost_token"] += 1

    async def send_loop(self) -> None:
        run = self.run
        next_at = time.monotonic() + run.rng.uniform(1.0, 5.0)
        while not self.lost:
            now = time.monotonic()
            if next_at >= run.stop_at:
                # idle until the end, polling
                await asyncio.sleep(max(run.stop_at - now, 0))
                return
            await asyncio.sleep(max(next_at - now, 0))
            started = time.monotonic()
            await self.send()
            next_at = max(started + run.rng.uniform(4.0, 6.0), time.monotonic())

    async def send(self) -> None:
        run = self.run
        key = run.key()
        text = f"{run.rng.choice(QUESTIONS)} (ref {key})"
        body = {"text": text, "client_key": key} if run.client_key else {"text": text}
        payload = json.dumps(body).encode()
        posted = run.messages[key] = Posted()
        for attempt in range(1000):
            status, data, retry_after = await self.call(
                "post", "POST", f"/api/chat/{INBOX}/messages", payload
            )
            posted.statuses.append(status)
            if 200 <= status < 300 and isinstance(data, dict):
                posted.acked = True
                self.seen([data["message"], *data["replies"]])
                self.next_poll = time.monotonic() + POLL_SECONDS  # the widget's schedulePoll()
                return
            if status and status < 500:  # refused: final, as in the widget
                if status == 401:
                    self.lost = True
                return
            # chat.js postMessage(): retries after 1, 2, 4 s (RETRY_DELAYS), then gives
            # up; the text stays in the input and the visitor sends it again (same key)
            cycle = attempt % (len(RETRY_DELAYS) + 1)
            delay = RETRY_DELAYS[cycle] if cycle < len(RETRY_DELAYS) else run.rng.uniform(2, 5)
            if time.monotonic() + delay >= run.give_up_at:
                return
            await asyncio.sleep(delay)

    async def poll_loop(self) -> None:
        run = self.run
        while True:
            now = time.monotonic()
            while now < self.next_poll:  # a post may move next_poll while we sleep
                await asyncio.sleep(self.next_poll - now)
                now = time.monotonic()
            if now >= run.stop_at or self.lost:
                return
            status, data, _ = await self.call(
                "poll", "GET", f"/api/chat/{INBOX}/messages?after={self.last_id}"
            )
            if status == 200 and isinstance(data, dict):
                self.failures = 0
                self.seen(data["messages"])
                if data["conversation"]["status"] == "closed":
                    return
            elif status == 401:
                self.lost = True
                return
            else:
                self.failures += 1
            self.next_poll = time.monotonic() + POLL_SECONDS * min(1 + self.failures, 8)


async def loop_lag(samples: list[float], stop_at: float) -> None:
    """How late the event loop wakes a 100 ms timer: the generator's own saturation."""
    while time.monotonic() < stop_at:
        t = time.monotonic()
        await asyncio.sleep(0.1)
        samples.append(time.monotonic() - t - 0.1)


async def fault(kind: str, servers: Servers, args, t0: float, events: list) -> None:
    async def run_cmd(cmd: list[str]) -> int:
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        return await proc.wait()

    def mark(text: str) -> None:
        events.append((time.monotonic() - t0, text))

    if kind == "redis":
        begin = max((args.seconds - args.redis_down) / 2, 0)
        await asyncio.sleep(max(t0 + begin - time.monotonic(), 0))
        await run_cmd(servers.redis_stop_cmd())
        down = "it no longer answers ping" if not servers.redis_up() else "IT STILL ANSWERS"
        mark(f"redis-server shut down ({down})")
        await asyncio.sleep(max(t0 + begin + args.redis_down - time.monotonic(), 0))
        await run_cmd(servers.redis_start_cmd())
        mark("redis-server started again")
    elif kind == "postgres":
        await asyncio.sleep(max(t0 + args.seconds / 2 - time.monotonic(), 0))
        mark("PostgreSQL restart begins")
        code = await run_cmd(servers.pg_restart_cmd())
        mark(f"PostgreSQL restart done (exit {code})")


async def drive(args, base: str, kind: str, servers: Servers, prefix: str) -> dict:
    import aiohttp

    rng = random.Random(f"{args.seed}-{kind}")
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=1.0)  # under gunicorn's 2 s
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        t0 = time.monotonic()
        run = Run(
            session=session,
            base=base,
            t0=t0,
            stop_at=t0 + args.seconds,
            give_up_at=t0 + args.seconds + args.grace,
            timeout=args.timeout,
            prefix=prefix,
            rng=rng,
            client_key=not args.no_client_key,
        )
        visitors = [
            Visitor(run, n, args.ramp * n / max(args.visitors, 1)) for n in range(args.visitors)
        ]
        lag: list[float] = []
        events: list = []
        tasks = [asyncio.create_task(v.main()) for v in visitors]
        side = [asyncio.create_task(loop_lag(lag, run.stop_at))]
        if kind != "normal":
            side.append(asyncio.create_task(fault(kind, servers, args, t0, events)))
        await asyncio.gather(*tasks, *side)
        wall = time.monotonic() - t0
    return {"run": run, "lag": lag, "events": events, "wall": wall}


# --------------------------------------------------------------------------- #
# the database check (a Django child process: it decrypts the message texts)
# --------------------------------------------------------------------------- #


def verify_child(since: str, prefix: str) -> None:
    import django

    django.setup()
    from conversations.models import Message

    fields = {f.name for f in Message._meta.get_fields()}
    columns = ["body", "client_key"] if "client_key" in fields else ["body"]
    rows = Message.objects.filter(
        sender=Message.Sender.VISITOR,
        conversation__inbox__public_key=INBOX,
        created_at__gte=datetime.fromisoformat(since),
    ).values_list(*columns)
    bodies: Counter = Counter()
    client_keys = 0
    for row in rows.iterator(chunk_size=2000):
        match = REF.search(row[0] or "")
        if match and match.group(1).startswith(prefix):
            bodies[match.group(1)] += 1
            if len(row) > 1 and row[1] == match.group(1):
                client_keys += 1
    print("VERIFY " + json.dumps({"bodies": bodies, "client_keys": client_keys}))


def verify(env: dict[str, str], since: datetime, prefix: str) -> dict:
    out = subprocess.run(
        [PY, str(Path(__file__).resolve()), "--verify-child", since.isoformat(), prefix],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("VERIFY "))
    return json.loads(line[len("VERIFY ") :])


# --------------------------------------------------------------------------- #
# figures
# --------------------------------------------------------------------------- #


def quantiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        v = values[0] * 1000 if values else float("nan")
        return v, v, v
    q = statistics.quantiles(values, n=100, method="inclusive")
    return q[49] * 1000, q[94] * 1000, q[98] * 1000


def status_counts(records) -> Counter:
    c: Counter = Counter()
    for _t, _ep, status, _lat, bad in records:
        c["requests"] += 1
        if status == 0:
            c["none"] += 1
        elif status < 300:
            c["2xx"] += 1
        elif status < 500:
            c["4xx"] += 1
            if status == 429:
                c["429"] += 1
        else:
            c["5xx"] += 1
        if bad:
            c["bad"] += 1
    return c


def message_figures(run: Run, stored: dict) -> dict:
    bodies = stored["bodies"]
    f: Counter = Counter()
    for key, posted in run.messages.items():
        n = bodies.get(key, 0)
        f["posted"] += 1
        f["attempts"] += len(posted.statuses)
        if len(posted.statuses) > 1:
            f["retried"] += 1
        if posted.acked:
            f["acknowledged"] += 1
            if len(posted.statuses) > 1:
                f["acknowledged_after_retry"] += 1
            if n == 1:
                f["ack_stored_once"] += 1
            elif n == 0:
                f["ack_lost"] += 1
            else:
                f["ack_duplicated"] += 1
                f["duplicate_rows"] += n - 1
        else:
            last = posted.statuses[-1] if posted.statuses else 0
            f["refused" if last and last < 500 else "failed"] += 1
            if last == 429:
                f["refused_429"] += 1
            if n:
                f["not_acked_but_stored"] += 1
                f["not_acked_but_stored_rows"] += n
    f["stored_rows"] = sum(bodies.values())
    f["unknown_keys_stored"] = sum(1 for k in bodies if k not in run.messages)
    f["client_keys_stored"] = stored["client_keys"]
    return f


def print_phase(kind: str, result: dict, figures: dict, cpu: dict, args) -> None:
    run: Run = result["run"]
    seconds = args.seconds
    c = status_counts(run.records)
    print(f"\n== phase {kind}: {args.visitors} visitors, {seconds:.0f} s (ramp {args.ramp:.0f} s)")
    for t, text in result["events"]:
        print(f"   t={t:5.1f} s  {text}")
    print(
        f"requests {c['requests']:,} ({c['requests'] / seconds:.0f}/s): "
        f"2xx {c['2xx']:,}  4xx {c['4xx']:,} (429: {c['429']:,})  5xx {c['5xx']:,}  "
        f"no answer {c['none']:,}  non-JSON error bodies {c['bad']:,}"
    )
    codes = Counter(r[2] for r in run.records if r[2] >= 300)
    if codes:
        print(
            f"   answers other than 2xx: {', '.join(f'{k} x{n:,}' for k, n in sorted(codes.items()))}"
        )
    if run.no_retry_after:
        shown = ", ".join(f"{s} x{n:,}" for s, n in sorted(run.no_retry_after.items()))
        print(f"   answers without Retry-After: {shown}")
    if run.bad_samples:
        shown = ", ".join(f"{s} {t} x{n}" for (s, t), n in run.bad_samples.most_common(5))
        print(f"   bad bodies: {shown}")
    if run.errors:
        print(f"   client errors: {', '.join(f'{k} x{n}' for k, n in run.errors.most_common())}")
    print(
        f"{'endpoint':<14}{'requests':>9}{'2xx':>8}{'4xx':>7}{'429':>7}{'5xx':>7}{'none':>6}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
    )
    for ep in ENDPOINTS:
        recs = [r for r in run.records if r[1] == ep]
        if not recs:
            continue
        e = status_counts(recs)
        p50, p95, p99 = quantiles([r[3] for r in recs if r[2]])
        print(
            f"{ep:<14}{e['requests']:>9,}{e['2xx']:>8,}{e['4xx']:>7,}{e['429']:>7,}{e['5xx']:>7,}"
            f"{e['none']:>6,}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}"
        )
    all_p = quantiles([r[3] for r in run.records if r[2]])
    print(f"{'all':<14}{c['requests']:>9,}{'':>35}{all_p[0]:>9.1f}{all_p[1]:>9.1f}{all_p[2]:>9.1f}")
    v = run.visitors
    print(
        f"visitors: started {v['started']:,}, gave up starting {v['gave_up_starting']:,}, "
        f"lost their token (401) {v['lost_token']:,}"
        + "".join(f", {k} {n:,}" for k, n in v.items() if k.startswith("crashed"))
    )
    f = figures
    print(
        f"messages: posted {f['posted']:,} (attempts {f['attempts']:,}), acknowledged "
        f"{f['acknowledged']:,} ({f['acknowledged_after_retry']:,} after a retry), refused "
        f"{f['refused']:,} (429: {f['refused_429']:,}), failed after retries {f['failed']:,}"
    )
    print(
        f"database: stored {f['stored_rows']:,} rows; acknowledged and stored once "
        f"{f['ack_stored_once']:,}; acknowledged but LOST {f['ack_lost']:,}; acknowledged but "
        f"DUPLICATED {f['ack_duplicated']:,} (+{f['duplicate_rows']:,} rows); never "
        f"acknowledged but STORED {f['not_acked_but_stored']:,}; client_key column set on "
        f"{f['client_keys_stored']:,}"
        + (
            f"; stored under no posted key {f['unknown_keys_stored']:,}"
            if f["unknown_keys_stored"]
            else ""
        )
    )
    lag = sorted(result["lag"]) or [0.0]
    print(
        f"CPU: load generator {cpu['own']:.0%} of one core, gunicorn {cpu['server']:.0%}, "
        f"PostgreSQL "
        f"{'n/a (restarted)' if cpu['postgres'] is None else format(cpu['postgres'], '.0%')}, "
        f"machine {cpu['machine']:.0%} busy ({os.cpu_count()} cores, "
        f"load avg {cpu['loadavg']:.1f}); event-loop lag p99 "
        f"{lag[int(len(lag) * 0.99) - 1 if len(lag) > 1 else 0] * 1000:.0f} ms, "
        f"max {lag[-1] * 1000:.0f} ms"
    )
    if kind != "normal":
        print(f"timeline by request start ({BUCKET:.0f} s buckets):")
        print(
            f"   {'t s':>5}{'requests':>9}{'2xx':>7}{'4xx':>6}{'429':>6}{'5xx':>6}{'none':>6}"
            f"{'bad':>5}{'p99 ms':>8}"
        )
        buckets: dict[int, list] = {}
        for r in run.records:
            buckets.setdefault(int(r[0] // BUCKET), []).append(r)
        for b in sorted(buckets):
            e = status_counts(buckets[b])
            p99 = quantiles([r[3] for r in buckets[b] if r[2]])[2]
            print(
                f"   {b * BUCKET:5.0f}{e['requests']:>9,}{e['2xx']:>7,}{e['4xx']:>6,}"
                f"{e['429']:>6,}{e['5xx']:>6,}{e['none']:>6,}{e['bad']:>5,}{p99:>8.0f}"
            )


def openapi_client_key(base_port: int) -> bool:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", base_port, timeout=10)
    conn.request("GET", "/api/openapi.json")
    response = conn.getresponse()
    spec = json.loads(response.read())
    conn.close()
    props = spec.get("components", {}).get("schemas", {}).get("MessageIn", {}).get("properties")
    return "client_key" in (props or {})


def count_tracebacks(path: Path) -> int:
    try:
        return path.read_text(errors="replace").count("Traceback (most recent call last)")
    except OSError:
        return 0


# --------------------------------------------------------------------------- #
# main
# --------------------------------------------------------------------------- #


def run_phase(kind: str, args, servers: Servers, env: dict[str, str], prefix: str) -> dict:
    servers.redis_ensure()
    servers.redis_flush()
    servers.pg_wait()
    port = free_port()
    log_path = LOG_DIR / f"gunicorn-{kind}.log"
    with open(log_path, "w") as server_log:
        server = start_gunicorn(
            env, port, args.workers, args.threads, keep_alive=None, log=server_log
        )
        try:
            accepts_key = openapi_client_key(port)
            since = datetime.now(UTC) - timedelta(seconds=5)
            log(f"phase {kind}: gunicorn on :{port}, {args.visitors} visitors for {args.seconds} s")
            pg_pid = servers.pg_pid()
            cpu0 = (own_seconds(), tree_seconds(server.pid), machine_busy(), time.monotonic())
            pg0 = tree_seconds(pg_pid) if pg_pid else 0.0
            result = asyncio.run(drive(args, f"http://127.0.0.1:{port}", kind, servers, prefix))
            own1, server1, (busy1, total1) = (
                own_seconds(),
                tree_seconds(server.pid),
                machine_busy(),
            )
            wall = time.monotonic() - cpu0[3]
            cpu = {
                "own": (own1 - cpu0[0]) / wall,
                "server": (server1 - cpu0[1]) / wall,
                # its backends live as long as gunicorn's connections; a restart starts anew
                "postgres": (tree_seconds(pg_pid) - pg0) / wall
                if pg_pid and servers.pg_pid() == pg_pid
                else None,
                "machine": (busy1 - cpu0[2][0]) / max(total1 - cpu0[2][1], 1e-9),
                "loadavg": os.getloadavg()[0],
            }
        finally:
            server.terminate()
            server.wait(timeout=30)
    servers.redis_ensure()  # in case a fault phase left it down
    servers.pg_wait()
    stored = verify(env, since, prefix)
    figures = message_figures(result["run"], stored)
    print_phase(kind, result, figures, cpu, args)
    tracebacks = count_tracebacks(log_path)
    print(f"server log {log_path.relative_to(ROOT)}: {tracebacks} tracebacks")
    print(f"server documents client_key on message posts: {'yes' if accepts_key else 'NO'}")
    return {"counts": status_counts(result["run"].records), "figures": figures, "cpu": cpu}


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--verify-child":
        verify_child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--ramp", type=float, default=10, help="visitors arrive over this long")
    parser.add_argument("--phases", default="normal,redis,postgres")
    parser.add_argument("--redis-down", type=float, default=20)
    parser.add_argument("--grace", type=float, default=20, help="retries of posts after the end")
    parser.add_argument("--timeout", type=float, default=20, help="per request, seconds")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (Procfile: 4)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (Procfile: 1)")
    parser.add_argument("--pg-port", type=int, default=5433)
    parser.add_argument("--pg-version", default="15")
    parser.add_argument("--pg-cluster", default="bench")
    parser.add_argument("--redis-port", type=int, default=6380)
    parser.add_argument("--no-notice", action="store_true", help="keep the notice gate off")
    parser.add_argument(
        "--no-client-key",
        action="store_true",
        help="post without client_key (a widget without idempotency keys; retries still happen)",
    )
    parser.add_argument(
        "--no-rate-limits", action="store_true", help="HAFEN_RATE_*=0 (default: product limits)"
    )
    parser.add_argument("--seed", default="hafen")
    args = parser.parse_args()
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if unknown := set(phases) - {"normal", "redis", "postgres"}:
        parser.error(f"unknown phase(s): {', '.join(sorted(unknown))}")
    for tool in ("pg_ctlcluster", "pg_lsclusters", "pg_isready", "redis-server", "redis-cli"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # a socket per busy visitor
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    servers = Servers(
        pg_port=args.pg_port,
        pg_version=args.pg_version,
        pg_cluster=args.pg_cluster,
        redis_port=args.redis_port,
    )
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    totals = {}
    try:
        servers.pg_ensure()
        servers.redis_ensure()
        database_url = f"postgres://postgres@127.0.0.1:{args.pg_port}/{DB_NAME}"
        env = bench_env(database_url, rate_limits=not args.no_rate_limits)
        env.update(REDIS_URL=f"redis://127.0.0.1:{args.redis_port}/0", HAFEN_BEHIND_PROXY="1")
        t = time.time()
        fresh_database(database_url)
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "seed_demo")
        if not args.no_notice:
            manage(
                env,
                "shell",
                "-c",
                "from conversations.models import Inbox\n"
                f"Inbox.objects.filter(public_key={INBOX!r}).update(notice_required=True)",
            )
        log(f"prepared {DB_NAME} on :{args.pg_port} in {time.time() - t:.1f} s")
        run_id = "".join(random.SystemRandom().choices(string.ascii_lowercase, k=4))
        print(
            f"bench/load.py {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: gunicorn {args.workers} workers"
            f" x {args.threads} threads, PostgreSQL :{args.pg_port}, Redis :{args.redis_port},"
            f" notice {'off' if args.no_notice else 'required'},"
            f" rate limits {'off' if args.no_rate_limits else 'as configured'},"
            f" client_key {'not sent' if args.no_client_key else 'sent'}, {os.cpu_count()} cores,"
            f" load avg {os.getloadavg()[0]:.1f} at the start"
        )
        for i, kind in enumerate(phases):
            prefix = run_id + string.ascii_lowercase[i % 26]  # keys are letters only
            totals[kind] = run_phase(kind, args, servers, env, prefix)
    finally:
        servers.stop_started()
    print("\n== summary")
    print(
        f"{'phase':<10}{'requests':>9}{'5xx':>6}{'429':>6}{'bad':>5}{'acked':>7}{'lost':>6}"
        f"{'dup':>5}{'refused-stored':>16}{'gen CPU':>9}"
    )
    for kind, t in totals.items():
        c, f = t["counts"], t["figures"]
        print(
            f"{kind:<10}{c['requests']:>9,}{c['5xx']:>6,}{c['429']:>6,}{c['bad']:>5,}"
            f"{f['acknowledged']:>7,}{f['ack_lost']:>6,}{f['ack_duplicated']:>5,}"
            f"{f['not_acked_but_stored']:>16,}{t['cpu']['own']:>9.0%}"
        )


if __name__ == "__main__":
    main()
