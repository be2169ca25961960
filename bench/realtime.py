"""Real-time benchmark (issue 13): pushed events against today's polling, side by side.

    .venv/bin/python bench/realtime.py                       # 1,000 visitors, 20 operators
    .venv/bin/python bench/realtime.py --visitors 200 --seconds 20 --modes push

NEEDS ITS OWN PostgreSQL CLUSTER AND REDIS SERVER, like bench/load.py (whose
Servers class it uses: cluster 15/bench on 5433, redis-server on 6380, started
when not running and stopped again at the end if this run started them). The
database `hafen_bench_realtime` is dropped, created, migrated and seeded with
`seed_demo`.

Server: uvicorn as in the Procfile (`--workers 4`, no access log) on
bench/settings.py, REDIS_URL on the bench Redis (channel layer, cache), rate
limits off. One uvicorn serves both modes.

Load (the same in both modes): --visitors chat visitors start a conversation on
the demo inbox; --operators operators are signed in (sessions of demo-operator,
made by a Django child process). The first --active visitors post a message
each --interval seconds (spread evenly), the rest stay idle; operator k has
visitor k's conversation open and replies to it every --reply-every seconds.

- push: every visitor holds /ws/chat/demo-website/ (authenticated), every
  operator /ws/console/ and watches its open conversation. Measured: idle
  server CPU with all sockets open and nobody posting, memory per connection
  (uvicorn's RSS after minus before the sockets, over the number of sockets),
  visitor message -> event on EVERY operator socket (all operators see the
  inbox), operator reply -> event on the visitor socket; lost and duplicated
  events.
- poll: no sockets. Every visitor polls GET /messages?after=<last> every 2 s
  (chat.js), every operator polls /console/counts.json and its open
  conversation's live endpoint every 5 s (socket.js's fallback). Measured: idle
  CPU with everyone polling and nobody posting, visitor message -> the open
  conversation's operator poll that returns it, operator reply -> the
  visitor's poll that returns it; lost (never seen) messages.

Latency is from the moment the client sends the post to the moment the event
or poll answer arrives at the receiving client. Bounded: 127.0.0.1 only, every
phase ends after --seconds (+ 5 s grace).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from bench.common import PY, bench_env, free_port, fresh_database, manage  # noqa: E402
from bench.load import Servers, tree_seconds  # noqa: E402

INBOX = "demo-website"
DB_NAME = "hafen_bench_realtime"
VISITOR_POLL = 2.0  # chat.js
OPERATOR_POLL = 5.0  # socket.js fallback
GRACE = 5.0

SESSIONS_CODE = """
import os
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
user = get_user_model().objects.get(username="demo-operator")
for _ in range(int(os.environ["BENCH_SESSIONS"])):
    s = SessionStore()
    s[SESSION_KEY] = str(user.pk)
    s[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    s[HASH_SESSION_KEY] = user.get_session_auth_hash()
    s.create()
    print(s.session_key)
"""


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def quantiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    values = sorted(values)
    p = lambda q: values[min(len(values) - 1, int(q * len(values)))] * 1000  # noqa: E731
    return f"p50 {p(0.5):.0f} ms, p95 {p(0.95):.0f} ms, max {values[-1] * 1000:.0f} ms"


def rss_kib(root: int) -> int:
    """Resident memory of `root` and its children (uvicorn's master and workers), KiB."""
    pids = [root]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == root:
                pids.append(int(entry.name))
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


class Stack:
    def __init__(self, args, env: dict[str, str]):
        self.args, self.env = args, env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log_path = ROOT / "var" / "bench-realtime-uvicorn.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(ROOT / ".venv/bin/uvicorn"),
            "chatbot_site.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.args.workers),
            "--no-access-log",
            "--lifespan",
            "off",
            "--ws-max-size",
            "4096",
            "--log-level",
            "warning",
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=log_path.open("w"), stderr=subprocess.STDOUT
        )
        deadline = time.time() + 60
        import urllib.request  # noqa: PLC0415 (a bench script: only here)

        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base}/api/chat/{INBOX}/config", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise SystemExit("uvicorn did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Visitor:
    def __init__(self, index: int, token: str):
        self.index, self.token = index, token
        self.headers = {"Authorization": f"Bearer {token}"}
        self.last_id = 0
        self.conversation: int | None = None
        self.ws = None


class Operator:
    def __init__(self, index: int, session: str):
        self.index = index
        self.cookies = {"sessionid": session, "csrftoken": "b" * 32}
        self.ws = None
        self.conversation: int | None = None  # the open one
        self.last_id = 0


class Results:
    def __init__(self):
        self.posts: dict[int, tuple[float, int]] = {}  # message id -> (sent at, visitor index)
        self.to_operator: dict[tuple[int, int], list[float]] = defaultdict(list)  # (msg, op)
        self.reply_sent: dict[int, list[float]] = defaultdict(list)  # conversation -> sends
        self.to_visitor: dict[int, list[tuple[float, int | None]]] = defaultdict(list)
        self.reply_ids: set[int] = set()
        self.errors = 0


async def start_visitors(session, stack, n: int) -> list[Visitor]:
    # Few at a time: under ASGI every request in flight holds its own database
    # connection (a thread per request), and the cluster allows 100.
    sem = asyncio.Semaphore(10)

    async def one(i):
        async with sem:
            async with session.post(f"{stack.base}/api/chat/{INBOX}/conversations", json={}) as r:
                body = await r.json()
                visitor = Visitor(i, body["token"])
                visitor.reference = body["conversation"]["reference"]
                return visitor

    return list(await asyncio.gather(*(one(i) for i in range(n))))


CONVERSATIONS_CODE = """
import os
from conversations.models import Conversation
refs = os.environ["BENCH_REFS"].split()
ids = dict(Conversation.objects.filter(reference__in=refs).values_list("reference", "id"))
print(" ".join(str(ids[r]) for r in refs))
"""


def conversation_ids(env, references: list[str]) -> list[int]:
    out = subprocess.run(
        [PY, "manage.py", "shell", "-c", CONVERSATIONS_CODE],
        cwd=ROOT,
        env={**env, "BENCH_REFS": " ".join(references)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [int(x) for x in out.strip().splitlines()[-1].split()]


def operator_sessions(env, n: int) -> list[str]:
    out = subprocess.run(
        [PY, "manage.py", "shell", "-c", SESSIONS_CODE],
        cwd=ROOT,
        env={**env, "BENCH_SESSIONS": str(n)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # (the shell prints its auto-imports first: keep the session keys only)
    keys = [
        line.strip() for line in out.splitlines() if re.fullmatch(r"[a-z0-9]{32}", line.strip())
    ]
    assert len(keys) == n, out
    return keys


async def post_message(session, stack, visitor: Visitor, res: Results, text: str) -> None:
    sent = time.monotonic()
    try:
        async with session.post(
            f"{stack.base}/api/chat/{INBOX}/messages", json={"text": text}, headers=visitor.headers
        ) as r:
            body = await r.json()
            if r.status != 200:
                res.errors += 1
                log(f"post answered {r.status}: {body.get('error')}")
                return
            res.posts[body["message"]["id"]] = (sent, visitor.index)
    except (TimeoutError, aiohttp.ClientError) as exc:
        res.errors += 1
        log(f"post failed: {exc.__class__.__name__}")


async def reply(session, stack, op: Operator, res: Results) -> None:
    res.reply_sent[op.conversation].append(time.monotonic())
    url = f"{stack.base}/console/conversations/{op.conversation}/reply/"
    try:
        async with session.post(
            url,
            data={"text": "Thank you, one moment please.", "csrfmiddlewaretoken": "b" * 32},
            cookies=op.cookies,
            allow_redirects=False,
        ) as r:
            if r.status not in (302, 303):
                res.errors += 1
    except (TimeoutError, aiohttp.ClientError):
        res.errors += 1


async def load(session, stack, args, visitors, operators, res: Results) -> None:
    """--active visitors post every --interval s; operators reply every --reply-every s."""
    active = visitors[: args.active]
    end = time.monotonic() + args.seconds
    tasks = []

    async def visitor_loop(v: Visitor, offset: float):
        await asyncio.sleep(offset)
        while time.monotonic() < end:
            tasks.append(
                asyncio.create_task(
                    post_message(session, stack, v, res, "What are your opening hours?")
                )
            )
            await asyncio.sleep(args.interval)

    async def operator_loop(op: Operator, offset: float):
        await asyncio.sleep(offset)
        while time.monotonic() < end:
            if op.conversation:
                tasks.append(asyncio.create_task(reply(session, stack, op, res)))
            await asyncio.sleep(args.reply_every)

    loops = [visitor_loop(v, i * args.interval / len(active)) for i, v in enumerate(active)]
    loops += [
        operator_loop(op, i * args.reply_every / len(operators)) for i, op in enumerate(operators)
    ]
    await asyncio.gather(*loops)
    await asyncio.gather(*tasks)
    await asyncio.sleep(GRACE)


# --- push ----------------------------------------------------------------------


async def run_push(args, stack, session, visitors, operators) -> dict:
    res = Results()
    before = rss_kib(stack.proc.pid)
    origin = stack.base
    ws_url = f"ws://127.0.0.1:{stack.port}"

    async def operator_reader(op: Operator):
        async for raw in op.ws:
            frame = json.loads(raw)
            if frame["type"] == "conversation.changed" and frame["sender"] == "visitor":
                res.to_operator[(frame["message"], op.index)].append(time.monotonic())

    async def visitor_reader(v: Visitor):
        async for raw in v.ws:
            frame = json.loads(raw)
            if frame["type"] == "conversation.changed" and frame["sender"] == "operator":
                res.to_visitor[v.index].append((time.monotonic(), frame["message"]))

    sem = asyncio.Semaphore(100)

    async def open_visitor(v: Visitor):
        async with sem:
            v.ws = await connect(f"{ws_url}/ws/chat/{INBOX}/", origin=origin, max_queue=None)
            await v.ws.send(json.dumps({"type": "auth", "token": v.token}))
            assert json.loads(await v.ws.recv())["type"] == "ready"

    for op in operators:
        cookie = f"sessionid={op.cookies['sessionid']}"
        op.ws = await connect(
            f"{ws_url}/ws/console/",
            origin=origin,
            additional_headers={"Cookie": cookie},
            max_queue=None,
        )
    await asyncio.gather(*(open_visitor(v) for v in visitors))
    readers = [asyncio.create_task(operator_reader(op)) for op in operators]
    readers += [asyncio.create_task(visitor_reader(v)) for v in visitors]
    sockets = len(visitors) + len(operators)
    log(f"push: {sockets} sockets open")
    await asyncio.sleep(5)
    after = rss_kib(stack.proc.pid)
    cpu0, t0 = tree_seconds(stack.proc.pid), time.monotonic()
    await asyncio.sleep(args.idle)
    idle_cpu = (tree_seconds(stack.proc.pid) - cpu0) / (time.monotonic() - t0) * 100
    log(f"push: idle CPU {idle_cpu:.1f} % of one core; load for {args.seconds}s")
    for op in operators:
        await op.ws.send(json.dumps({"type": "watch", "conversation": op.conversation}))
    await load(session, stack, args, visitors, operators, res)
    for task in readers:
        task.cancel()
    for ws in [op.ws for op in operators] + [v.ws for v in visitors]:
        await ws.close()
    return figures("push", res, operators, idle_cpu, (after - before) / sockets, everyone=True)


# --- poll ----------------------------------------------------------------------


async def run_poll(args, stack, session, visitors, operators) -> dict:
    res = Results()
    stop = asyncio.Event()
    posting = asyncio.Event()
    seen: list[tuple[float, int, int, int]] = []  # (when, operator, after, last_id)

    async def visitor_poll(v: Visitor, offset: float):
        await asyncio.sleep(offset)
        while not stop.is_set():
            try:
                async with session.get(
                    f"{stack.base}/api/chat/{INBOX}/messages",
                    params={"after": v.last_id},
                    headers=v.headers,
                ) as r:
                    body = await r.json()
                now = time.monotonic()
                for m in body.get("messages", []):
                    v.last_id = max(v.last_id, m["id"])
                    if m["sender"] == "operator" and posting.is_set():
                        res.to_visitor[v.index].append((now, m["id"]))
            except (TimeoutError, aiohttp.ClientError, ValueError):
                res.errors += 1
            await asyncio.sleep(VISITOR_POLL)

    async def operator_poll(op: Operator, offset: float):
        await asyncio.sleep(offset)
        while not stop.is_set():
            try:
                async with session.get(
                    f"{stack.base}/console/counts.json", cookies=op.cookies
                ) as r:
                    await r.read()
                if op.conversation:
                    async with session.get(
                        f"{stack.base}/console/conversations/{op.conversation}/live/",
                        params={"after": op.last_id},
                        cookies=op.cookies,
                    ) as r:
                        body = await r.json()
                    # the page's live endpoint answers rendered rows up to last_id
                    if posting.is_set() and body["last_id"] > op.last_id:
                        seen.append((time.monotonic(), op.index, op.last_id, body["last_id"]))
                    op.last_id = body["last_id"]
            except (TimeoutError, aiohttp.ClientError, ValueError):
                res.errors += 1
            await asyncio.sleep(OPERATOR_POLL)

    pollers = [
        asyncio.create_task(visitor_poll(v, random.uniform(0, VISITOR_POLL))) for v in visitors
    ]
    pollers += [
        asyncio.create_task(operator_poll(op, random.uniform(0, OPERATOR_POLL))) for op in operators
    ]
    await asyncio.sleep(5)
    cpu0, t0 = tree_seconds(stack.proc.pid), time.monotonic()
    await asyncio.sleep(args.idle)
    idle_cpu = (tree_seconds(stack.proc.pid) - cpu0) / (time.monotonic() - t0) * 100
    log(f"poll: idle CPU {idle_cpu:.1f} % of one core (everyone polling); load for {args.seconds}s")
    posting.set()
    await load(session, stack, args, visitors, operators, res)
    stop.set()
    for task in pollers:
        task.cancel()
    for at, operator, low, high in seen:  # which posted messages each poll brought
        for mid, (_sent, visitor_index) in res.posts.items():
            if low < mid <= high and visitor_index == operator:
                res.to_operator[(mid, operator)].append(at)
    return figures("poll", res, operators, idle_cpu, None, everyone=False)


# --- figures -------------------------------------------------------------------


def figures(mode, res: Results, operators, idle_cpu, mem_per_conn, *, everyone: bool) -> dict:
    open_of = {op.index: op.conversation for op in operators}
    v2o, lost_o, dup_o = [], 0, 0
    for mid, (sent, vi) in res.posts.items():
        if everyone:
            receivers = [op.index for op in operators]
        else:  # polling: only the operator who has this visitor's conversation open
            receivers = [op.index for op in operators if op.index == vi]
        for oi in receivers:
            got = res.to_operator.get((mid, oi), [])
            if not got:
                lost_o += 1
            else:
                dup_o += len(got) - 1
                v2o.append(got[0] - sent)
    o2v, lost_v, dup_v = [], 0, 0
    for op in operators:
        sends = sorted(res.reply_sent.get(open_of[op.index], []))
        arrivals = sorted(t for t, _m in res.to_visitor.get(op.index, []))
        ids = [m for _t, m in res.to_visitor.get(op.index, [])]
        dup_v += len(ids) - len(set(ids))
        for sent in sends:
            later = [t for t in arrivals if t >= sent]
            if not later:
                lost_v += 1
            else:
                o2v.append(later[0] - sent)
                arrivals.remove(later[0])
    return {
        "mode": mode,
        "visitor->operator": quantiles(v2o),
        "operator->visitor": quantiles(o2v),
        "v2o_p95_ms": (sorted(v2o)[int(0.95 * len(v2o))] * 1000) if v2o else None,
        "o2v_p95_ms": (sorted(o2v)[int(0.95 * len(o2v))] * 1000) if o2v else None,
        "lost": lost_o + lost_v,
        "duplicated": dup_o + dup_v,
        "idle CPU % of one core": round(idle_cpu, 1),
        "memory per connection KiB": round(mem_per_conn, 1) if mem_per_conn else "n/a",
        "posts": len(res.posts),
        "replies": sum(len(v) for v in res.reply_sent.values()),
        "errors": res.errors,
    }


async def main_async(args, stack) -> list[dict]:
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        visitors = await start_visitors(session, stack, args.visitors)
        operators = [
            Operator(i, s) for i, s in enumerate(operator_sessions(stack.env, args.operators))
        ]
        ids = conversation_ids(stack.env, [visitors[op.index].reference for op in operators])
        for op, conversation_id in zip(operators, ids, strict=True):
            op.conversation = conversation_id  # operator k has visitor k's conversation open
        log(f"{len(visitors)} visitors started, {len(operators)} operator sessions")
        results = []
        for mode in args.modes.split(","):
            runner = run_push if mode == "push" else run_poll
            results.append(await runner(args, stack, session, visitors, operators))
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, default=1000)
    parser.add_argument("--operators", type=int, default=20)
    parser.add_argument("--active", type=int, default=100, help="visitors that post")
    parser.add_argument(
        "--interval", type=float, default=10.0, help="seconds between an active visitor's posts"
    )
    parser.add_argument("--reply-every", type=float, default=4.0)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--idle", type=float, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--modes", default="push,poll")
    parser.add_argument("--pg-port", type=int, default=5433)
    parser.add_argument("--pg-version", default="15")
    parser.add_argument("--pg-cluster", default="bench")
    parser.add_argument("--redis-port", type=int, default=6380)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    servers = Servers(
        pg_port=args.pg_port,
        pg_version=args.pg_version,
        pg_cluster=args.pg_cluster,
        redis_port=args.redis_port,
    )
    servers.pg_ensure()
    servers.redis_ensure()
    url = f"postgres://postgres@127.0.0.1:{args.pg_port}/{DB_NAME}"
    env = bench_env(url)
    env.update(REDIS_URL=f"redis://127.0.0.1:{args.redis_port}/0", HAFEN_CHANNEL_PREFIX="bench-ws:")
    stack = Stack(args, env)
    try:
        fresh_database(url)
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "seed_demo")
        servers.redis_flush()
        stack.start()
        results = asyncio.run(main_async(args, stack))
    finally:
        stack.stop()
        servers.stop_started()
    keys = [k for k in results[0] if not k.endswith("_ms") and k != "mode"]
    print(
        f"\n{args.visitors} visitors ({args.active} posting every {args.interval:g} s), "
        f"{args.operators} operators (a reply every {args.reply_every:g} s each), uvicorn x {args.workers}"
    )
    print(f"{'':28}" + "".join(f"{r['mode']:>44}" for r in results))
    for key in keys:
        print(f"{key:28}" + "".join(f"{str(r[key]):>44}" for r in results))


if __name__ == "__main__":
    main()
