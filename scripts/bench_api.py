"""API latency benchmark: 100,000 synthetic scored calls in PostgreSQL, 50 concurrent clients on loopback.

Reports p50/p95/p99 for get-one-call and for a filtered list page (targets: p95 < 50 ms and < 100 ms).

    .venv/bin/python scripts/bench_api.py --calls 100000 --clients 50 --workers 2 --requests 3000

Creates a fresh database callqa_bench_<random> on the PostgreSQL server of --pg-admin (dropped at the
end unless --keep), bulk-loads it with COPY, renders the stored call documents with the service's own
renderer (``callqa.report.refresh_call_documents``), starts uvicorn (httptools, uvloop where installed)
with several workers and drives it with ``wrk`` (C; a Lua script adds the key, random call ids and
filters, and prints p50/p95/p99), or with httpx async clients where wrk is absent (--driver httpx).
With --write-docs the figures go into docs/api.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import create_engine, text

from callqa.storage import repo

REPO = Path(__file__).resolve().parent.parent
CLASSES = (("lead", 0.70), ("non_target", 0.20), ("spam", 0.05), ("upsell", 0.03), ("service", 0.02))
OUTCOMES = ("sale", "next_step", "callback", "refusal", "none")
CHANNELS = ("site", "ads", "radio", "partner", "cold", "avito")


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    x, acc = rng.random(), 0.0
    for value, w in weighted:
        acc += w
        if x < acc:
            return value
    return weighted[-1][0]


def call_pool(size: int, *, seed: int = 11) -> list[dict[str, Any]]:
    """``size`` realistic five-minute scored calls, as the pipeline would store them: synthetic Russian
    dialogues with word timings (``bench_scoring.synthetic_call``, about 700 words) analysed by the real
    scoring (shipped checklists, default classifier). The load step cycles through them."""
    sys.path.insert(0, str(REPO / "scripts"))
    from bench_scoring import synthetic_call
    from callqa.scoring import CallContext, analyze_call, load_checklists
    from callqa.scoring.classify import load_default_classifier

    rng = random.Random(seed)
    checklists, classifier = load_checklists(), load_default_classifier()
    pool = []
    for i in range(size):
        transcript = synthetic_call(rng)
        context = CallContext(direction=("inbound", "outbound")[i % 2], company_names=("Альфа Строй",),
                              manager_name="Ирина")
        analysis = analyze_call(transcript, context=context, checklists=checklists, classifier=classifier).to_dict()
        segments = []
        for idx, seg in enumerate(transcript.segments):  # stored as replace_transcript stores them
            f = repo.segment_fields(seg)
            segments.append((idx, f["start_s"], f["end_s"], f["speaker"], f["role"], f["channel"], f["text"],
                             f["confidence"], json.dumps(f["words"], ensure_ascii=False)))
        cards = []
        for card in analysis["scorecards"]:  # stored as store_analysis stores them
            checklist_id, version, total, critical = repo.scorecard_fields(card)
            items = [(f["item_id"], f["stage"], f["auto_status"], f["weight"], f["critical"],
                      json.dumps(f["evidence"], ensure_ascii=False)) for f in repo.item_fields(card)]
            cards.append((checklist_id, version, total, critical, json.dumps(card, ensure_ascii=False), items))
        cls = analysis["classification"] or {}
        pool.append({
            "text": " ".join(s.text.strip() for s in transcript.segments), "roles": json.dumps(transcript.roles),
            "segments": segments, "cards": cards, "metrics": json.dumps(analysis["metrics"], ensure_ascii=False),
            "classification": json.dumps(cls, ensure_ascii=False),
            "pii": json.dumps(analysis["pii_spans"], ensure_ascii=False),
            "gold": json.dumps(analysis["gold"], ensure_ascii=False) if analysis["gold"] else None,
            "class": cls.get("call_class"), "outcome": cls.get("outcome"),
        })
    return pool


def load(pg_url: str, n_calls: int, *, seed: int = 7, pool_size: int = 64) -> None:
    """Bulk-load managers and ``n_calls`` scored calls (transcript with words, segments, scorecards, items,
    analysis) with COPY. Call metadata (manager, channel, campaign, dates, score, class, outcome) is drawn
    per call, so list filters see realistic spreads; transcripts and analyses come from ``call_pool``."""
    rng = random.Random(seed)
    pool = call_pool(pool_size)
    now = datetime.now(UTC)
    conninfo = pg_url.replace("postgresql+psycopg://", "postgresql://")
    n_managers = 50
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        with cur.copy("COPY managers (id, name, team, active, created_at) FROM STDIN") as cp:
            for m in range(1, n_managers + 1):
                cp.write_row((m, f"Менеджер {m:02d}", f"team-{m % 5}", True, now))
        call_cols = ("id, sha256, original_name, audio_path, size_bytes, state, attempts, duration_s, n_channels, "
                     "external_id, manager_id, direction, source_channel, campaign, client_phone, started_at, ring_s, "
                     "answered, crm_deal_id, score, checklist_id, call_class, outcome, callback_due_at, "
                     "is_gold_candidate, created_at, updated_at")
        with cur.copy(f"COPY calls ({call_cols}) FROM STDIN") as cp_calls:
            for cid in range(1, n_calls + 1):
                score = round(rng.choice((20, 40, 60, 70, 80, 90, 100)) - rng.random() * 10, 1)
                cls = _pick(rng, CLASSES)
                outcome = rng.choice(OUTCOMES)
                started = now - timedelta(days=rng.random() * 180)
                answered = rng.random() > 0.08
                cp_calls.write_row((
                    cid, uuid.UUID(int=rng.getrandbits(128)).hex * 2, f"call-{cid}.mp3", None, 0, "done", 1,
                    300.0 if answered else 0.0, 2, f"ext-{cid}", rng.randint(1, n_managers), "inbound",
                    rng.choice(CHANNELS), f"campaign-{rng.randint(1, 12)}", f"+79{rng.randint(0, 30000):09d}",
                    started, rng.uniform(1, 20), answered, f"D-{cid}", score, "inbound_lead", cls, outcome,
                    started + timedelta(days=2) if outcome == "callback" else None, score >= 90 and rng.random() < 0.1,
                    started, started,
                ))
        with cur.copy("COPY transcripts (id, call_id, language, model, duration_s, roles, role_confidence, flags, "
                      "turns, text, created_at) FROM STDIN") as cp:
            for cid in range(1, n_calls + 1):
                p = pool[cid % pool_size]
                cp.write_row((cid, cid, "ru", "base", 300.0, p["roles"], 0.9, "[]", "[]", p["text"], now))
        with cur.copy("COPY transcript_segments (call_id, idx, start_s, end_s, speaker, role, channel, text, "
                      "confidence, words) FROM STDIN") as cp:
            for cid in range(1, n_calls + 1):
                for seg in pool[cid % pool_size]["segments"]:
                    cp.write_row((cid, *seg))
        card_id = 0
        with (cur.copy("COPY scorecards (id, call_id, checklist_id, checklist_version, auto_total, final_total, "
                       "critical_failed, data, is_current, created_at) FROM STDIN") as cp_cards):
            for cid in range(1, n_calls + 1):
                for checklist_id, version, total, critical, data, _ in pool[cid % pool_size]["cards"]:
                    card_id += 1
                    cp_cards.write_row((card_id, cid, checklist_id, version, total, total, critical, data, True, now))
        card_id = 0
        with cur.copy("COPY item_results (scorecard_id, call_id, item_id, stage, auto_status, final_status, weight, "
                      "critical, evidence) FROM STDIN") as cp:
            for cid in range(1, n_calls + 1):
                for *_, items in pool[cid % pool_size]["cards"]:
                    card_id += 1
                    for item_id, stage, status, weight, critical, evidence in items:
                        cp.write_row((card_id, cid, item_id, stage, status, status, weight, critical, evidence))
        with cur.copy("COPY analyses (call_id, metrics, classification, pii_spans, gold, auto_class, auto_outcome, "
                      "created_at) FROM STDIN") as cp:
            for cid in range(1, n_calls + 1):
                p = pool[cid % pool_size]
                cp.write_row((cid, p["metrics"], p["classification"], p["pii"], p["gold"], p["class"], p["outcome"],
                              now))
        for table in ("managers", "calls", "transcripts", "scorecards"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        cur.execute("ANALYZE")


def _render_range(job: tuple[str, int, int]) -> int:
    """Render the stored documents of calls ``lo <= id < hi`` (one process of the pool)."""
    from callqa.report import refresh_call_documents
    from callqa.storage.db import session_scope

    url, lo, hi = job
    with session_scope(url) as session:
        return refresh_call_documents(session, range(lo, hi), chunk=1000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


async def drive(base: str, key: str, make_path, *, clients: int, requests: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """``clients`` concurrent loops issuing ``requests`` GETs in total; latency per request in ms."""
    latencies: list[float] = []
    errors = 0
    reasons: dict[str, int] = {}
    remaining = requests
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, limits=limits,
                                 timeout=30) as client:
        async def worker(seed: int) -> None:
            nonlocal remaining, errors
            rng = random.Random(seed)
            while remaining > 0:
                remaining -= 1
                path = make_path(rng)
                t0 = time.perf_counter()
                reason = None
                try:
                    r = await client.get(path)
                    if r.status_code != 200:
                        reason = f"HTTP {r.status_code}"
                except httpx.HTTPError as exc:
                    reason = type(exc).__name__
                latencies.append((time.perf_counter() - t0) * 1000)
                if reason is not None:
                    errors += 1
                    reasons[reason] = reasons.get(reason, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        wall = time.perf_counter() - t0
    if reasons:
        print(f"  errors: {reasons}", flush=True)
    return {"n": len(latencies), "errors": errors, "p50": pct(latencies, 0.5), "p95": pct(latencies, 0.95),
            "p99": pct(latencies, 0.99), "rps": len(latencies) / wall}


WRK_SCRIPT = r"""
local n_calls = tonumber(os.getenv("BENCH_CALLS"))
local mode = os.getenv("BENCH_MODE")
local channels = {"site", "ads", "radio", "partner", "cold", "avito"}
local classes = {"lead", "non_target", "spam"}
local outcomes = {"sale", "next_step", "callback", "refusal", "none"}
local scores = {0, 40, 60}
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end
local function filter(k)
  if k == 1 then return "manager_id=" .. math.random(1, 50) end
  if k == 2 then return "score_min=" .. scores[math.random(#scores)] end
  if k == 3 then return "call_class=" .. classes[math.random(#classes)] end
  if k == 4 then return "channel=" .. channels[math.random(#channels)] end
  return "outcome=" .. outcomes[math.random(#outcomes)]
end
function request()
  if mode == "one" then
    return wrk.format("GET", "/api/v1/calls/" .. math.random(1, n_calls))
  end
  local a = math.random(1, 5)
  local b = math.random(1, 4)
  if b >= a then b = b + 1 end
  return wrk.format("GET", "/api/v1/calls?limit=50&" .. filter(a) .. "&" .. filter(b))
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %.1f %.1f %.1f %.1f\n", summary.requests,
    e.connect + e.read + e.write + e.status + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean))
end
"""


def drive_wrk(base: str, key: str, mode: str, *, n_calls: int, clients: int, threads: int,
              duration_s: int) -> dict[str, float]:
    """One wrk run (closed loop, ``clients`` connections); latencies in ms."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(WRK_SCRIPT)
        script = fh.name
    env = dict(os.environ, BENCH_KEY=key, BENCH_MODE=mode, BENCH_CALLS=str(n_calls))
    try:
        out = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{duration_s}s", "--timeout", "30s",
             "-s", script, base], env=env, capture_output=True, text=True, check=True,
        ).stdout
    finally:
        os.unlink(script)
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    n, errors, dur_us, p50, p95, p99, _mean = (float(v) for v in line.split()[1:])
    return {"n": int(n), "errors": int(errors), "p50": p50 / 1000, "p95": p95 / 1000, "p99": p99 / 1000,
            "rps": n / (dur_us / 1e6)}


def wait_for_quiet(max_load: float, wait_s: float) -> float:
    """Wait (up to ``wait_s``) until the 1-minute load average is below ``max_load``; returns it."""
    deadline = time.monotonic() + wait_s
    load = os.getloadavg()[0]
    while load > max_load and time.monotonic() < deadline:
        print(f"load average {load:.2f} > {max_load}: waiting", flush=True)
        time.sleep(15)
        load = os.getloadavg()[0]
    return load


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg-admin", default=os.environ.get("CALLQA_TEST_PG_ADMIN",
                                                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--requests", type=int, default=3000, help="httpx driver: requests per scenario")
    ap.add_argument("--driver", choices=("auto", "wrk", "httpx"), default="auto",
                    help="load generator: wrk where installed (auto), else httpx")
    ap.add_argument("--duration", type=int, default=20, help="wrk driver: seconds per scenario")
    ap.add_argument("--threads", type=int, default=1, help="wrk driver: threads")
    ap.add_argument("--max-load", type=float, default=3.0,
                    help="wait until the 1-min load average is below this before measuring")
    ap.add_argument("--wait", type=float, default=600, help="longest wait for --max-load, seconds")
    ap.add_argument("--serial", action="store_true", help="also measure with one client (uncontended latency)")
    ap.add_argument("--keep", action="store_true", help="keep the benchmark database")
    ap.add_argument("--reuse", metavar="DBNAME", help="measure on a database kept by an earlier --keep run")
    ap.add_argument("--write-docs", action="store_true", help="write the figures into docs/api.md")
    args = ap.parse_args()
    driver = args.driver
    if driver == "auto":
        driver = "wrk" if shutil.which("wrk") else "httpx"
    if driver == "wrk" and not shutil.which("wrk"):
        ap.error("wrk is not installed (apt-get install wrk), use --driver httpx")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)

    name = args.reuse or f"callqa_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.pg_admin, isolation_level="AUTOCOMMIT")
    if args.reuse:
        args.keep = True
    else:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.pg_admin.rsplit("/", 1)[0] + f"/{name}"
    server = None
    try:
        from callqa.api.auth import create_api_key

        from callqa.storage.db import session_scope, upgrade

        upgrade(url)
        load_s = render_s = float("nan")
        if not args.reuse:
            t0 = time.perf_counter()
            load(url, args.calls)
            load_s = time.perf_counter() - t0
            print(f"loaded {args.calls} calls in {load_s:.1f} s", flush=True)
            t0 = time.perf_counter()
            step = 2000
            with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
                rendered = sum(pool.map(_render_range, [(url, lo, min(lo + step, args.calls + 1))
                                                        for lo in range(1, args.calls + 1, step)]))
            render_s = time.perf_counter() - t0
            print(f"rendered {rendered} call documents in {render_s:.1f} s", flush=True)
        with session_scope(url) as session:
            key, _ = create_api_key(session, name="bench", role="admin")

        port = _free_port()
        data_dir = Path(tempfile.mkdtemp(prefix="callqa-bench-"))
        env = dict(os.environ, CALLQA_DATABASE_URL=url, CALLQA_DATA_DIR=str(data_dir))
        fast = []
        for module, flag in (("httptools", ["--http", "httptools"]), ("uvloop", ["--loop", "uvloop"])):
            try:
                __import__(module)
                fast += flag
            except ImportError:
                print(f"{module} is not installed: uvicorn uses its pure-Python fallback", flush=True)
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "callqa.api.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--workers", str(args.workers), "--log-level", "warning", "--no-access-log",
             "--timeout-keep-alive", "60", *fast],
            env=env, cwd=REPO,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                if httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise RuntimeError("uvicorn did not come up")

        n = args.calls

        def one_call(rng: random.Random) -> str:
            return f"/api/v1/calls/{rng.randint(1, n)}"

        def list_page(rng: random.Random) -> str:
            filters = [f"manager_id={rng.randint(1, 50)}", f"score_min={rng.choice([0, 40, 60])}",
                       f"call_class={rng.choice(['lead', 'non_target', 'spam'])}",
                       f"channel={rng.choice(CHANNELS)}", f"outcome={rng.choice(OUTCOMES)}"]
            chosen = rng.sample(filters, 2)
            return "/api/v1/calls?limit=50&" + "&".join(chosen)

        results = {}
        load_before = wait_for_quiet(args.max_load, args.wait)
        print(f"load average before measuring: {load_before:.2f}", flush=True)
        for label, mode, make_path in (("GET /api/v1/calls/{id}", "one", one_call),
                                       ("GET /api/v1/calls (2 filters, 50 rows)", "list", list_page)):
            runs = [args.clients] + ([1] if args.serial else [])
            for clients in runs:
                row = f"{label}, {clients} client{'s' if clients > 1 else ''}"
                if driver == "wrk":
                    threads = min(args.threads, clients)
                    drive_wrk(base, key, mode, n_calls=n, clients=clients, threads=threads, duration_s=3)  # warm-up
                    r = drive_wrk(base, key, mode, n_calls=n, clients=clients, threads=threads,
                                  duration_s=args.duration)
                else:
                    asyncio.run(drive(base, key, make_path, clients=clients, requests=200))  # warm-up
                    n_requests = args.requests if clients > 1 else max(args.requests // 10, 100)
                    r = asyncio.run(drive(base, key, make_path, clients=clients, requests=n_requests))
                results[row] = r
                print(f"{row}: n={r['n']} errors={r['errors']} p50={r['p50']:.1f} ms p95={r['p95']:.1f} ms "
                      f"p99={r['p99']:.1f} ms ({r['rps']:.0f} req/s); load {os.getloadavg()[0]:.2f}",
                      flush=True)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        from callqa.storage.db import get_engine

        get_engine(url).dispose()
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    cmd = (f".venv/bin/python scripts/bench_api.py --calls {args.calls} --clients {args.clients} "
           f"--workers {args.workers} --driver {driver} "
           + (f"--duration {args.duration} --threads {args.threads}" if driver == "wrk" else
              f"--requests {args.requests}") + (" --serial" if args.serial else ""))
    load_avg = os.getloadavg()[0]
    machine = (f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, "
               f"1-min load average {load_before:.2f} before measuring and {load_avg:.2f} at the end")
    client_desc = (f"wrk, {args.clients} connections, {args.threads} thread(s), {args.duration} s per scenario"
                   if driver == "wrk" else f"{args.clients} concurrent httpx clients")
    rows = "\n".join(f"| {k} | {v['n']} | {v['errors']} | {v['p50']:.1f} | {v['p95']:.1f} | {v['p99']:.1f} | "
                     f"{v['rps']:.0f} |" for k, v in results.items())
    table = (f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine}; PostgreSQL, server, and clients on one machine "
             f"(loopback); {args.calls} calls loaded in {load_s:.0f} s with COPY and their documents rendered in "
             f"{render_s:.0f} s; uvicorn --workers {args.workers} {' '.join(fast)}; {client_desc}.\n\n    {cmd}\n\n"
             "| request | n | errors | p50 ms | p95 ms | p99 ms | req/s |\n|---|---|---|---|---|---|---|\n" + rows + "\n")
    if args.reuse:
        table = table.replace(f"{args.calls} calls loaded in nan s with COPY and their documents rendered in nan s",
                              f"{args.calls} calls loaded by an earlier run")
    print(table)
    if args.write_docs:
        doc = REPO / "docs" / "api.md"
        content = doc.read_text(encoding="utf-8")
        start, end = "<!-- bench:start -->", "<!-- bench:end -->"
        if start in content and end in content:
            head, rest = content.split(start, 1)
            content = head + start + "\n" + table + end + rest.split(end, 1)[1]
        else:
            content += f"\n{start}\n{table}{end}\n"
        doc.write_text(content, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
