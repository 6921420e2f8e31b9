"""``make bench``: every hot path against its ceiling, measured in the same run.

1. Builds (or reuses) the dataset in ``couponhub_bench`` (``bench/dataset.py``).
2. Code generation: ``bench/codegen.py`` (generation vs a psycopg COPY of the same
   rows) in the scratch database ``couponhub_h_bench9``, which it wipes.
3. Serves the app with gunicorn on 127.0.0.1 (``BENCH_IDEAL=1`` mounts the ideal
   endpoints of ``bench/ideal``) and drives it with ``wrk`` from another process:
   every scenario runs for a bounded time, ours then the ideal endpoint's, in each of
   ``BENCH_ROUNDS`` (>= 3) rounds; a ratio is taken per round, the median reported.
4. Counts the queries of one request per read endpoint (in process, same database).
5. Writes ``bench/results/<date>[-quick].json`` and ``.md`` (the table).

Environment: ``BENCH_QUICK=1`` (a tenth of the dataset, shorter scenarios),
``BENCH_DURATION`` (seconds per scenario), ``BENCH_ROUNDS``, ``BENCH_WORKERS``
(gunicorn workers, default 4), ``BENCH_PORT`` (default 8765), ``BENCH_DATABASE``
and ``BENCH_SCRATCH_DATABASE`` (URLs), ``BENCH_SKIP_CODEGEN=1``,
``BENCH_ONLY=issue1,receive16`` (a subset of scenarios), ``BENCH_TAG=name`` (appended
to the result files' names, for partial re-measurements), ``BENCH_INPROC=1`` (also
run the in-process ``bench/issue_multiple.py``).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PG = "postgres://postgres@127.0.0.1:5432"
QUICK = os.environ.get("BENCH_QUICK") == "1"
DURATION = int(os.environ.get("BENCH_DURATION", "5" if QUICK else "10"))
ROUNDS = max(3, int(os.environ.get("BENCH_ROUNDS", "3")))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
PORT = int(os.environ.get("BENCH_PORT", "8765"))
DATABASE = os.environ.get("BENCH_DATABASE", f"{PG}/couponhub_bench")
SCRATCH = os.environ.get("BENCH_SCRATCH_DATABASE", f"{PG}/couponhub_h_bench9")
ONLY = {s for s in os.environ.get("BENCH_ONLY", "").split(",") if s}
BASE = f"http://127.0.0.1:{PORT}"
PYTHON = sys.executable

os.environ["DATABASE_URL"] = DATABASE
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("API_KEY_RATE_LIMIT", "off")
sys.path.insert(0, str(ROOT))


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def ensure_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    server = url.rsplit("/", 1)[0]
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not found:
            conn.execute(f'CREATE DATABASE "{name}"')


# --- 1. dataset ----------------------------------------------------------------------


def dataset() -> dict:
    args = [PYTHON, str(BENCH / "dataset.py"), *(["--quick"] if QUICK else [])]
    started = time.perf_counter()
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    log(out.strip())
    return {"log": out.strip(), "seconds": time.perf_counter() - started}


# --- 2. code generation --------------------------------------------------------------


def codegen() -> dict | None:
    script = BENCH / "codegen.py"
    if not script.exists():
        log("bench/codegen.py is missing: code generation not measured")
        return None
    count = 100_000 if QUICK else 1_000_000
    ensure_database(SCRATCH)
    env = {**os.environ, "DATABASE_URL": SCRATCH}
    args = [PYTHON, str(script), "--count", str(count), "--rounds", str(ROUNDS)]
    out = subprocess.run(args, check=True, capture_output=True, text=True, env=env)
    text = out.stdout
    log("codegen:\n" + text.strip())
    ratio = re.search(r"ratio generate / COPY \(same table\):\s+([\d.]+)", text)
    median = re.search(
        r"median: generate ([\d.]+) s .*?COPY same table ([\d.]+) s", text
    )
    rounds = re.findall(
        r"round \d+: generate ([\d.]+) s, COPY \(same table\) ([\d.]+)", text
    )
    return {
        "count": count,
        "generate_s": float(median.group(1)) if median else None,
        "copy_s": float(median.group(2)) if median else None,
        "ratio": float(ratio.group(1)) if ratio else None,
        "round_ratios": [float(g) / float(c) for g, c in rounds],
        "target": 1.5,
        "log": text,
    }


def inproc() -> dict | None:
    script = BENCH / "issue_multiple.py"
    if os.environ.get("BENCH_INPROC") != "1" or not script.exists():
        return None
    env = {**os.environ, "DATABASE_URL": SCRATCH}
    out = subprocess.run(
        [PYTHON, str(script)], check=True, capture_output=True, text=True, env=env
    )
    log("issue_multiple (in process):\n" + out.stdout.strip())
    return {"log": out.stdout}


# --- 3. fixtures of this run (in the dataset's database) ---------------------------


def prepare(pool_needed: int) -> dict:
    """An API key, fresh coupons for the write scenarios, pools topped up."""
    import base64
    import hashlib

    import django

    django.setup()
    from django.db import connection

    from coupons.models import Coupon, DiscountType
    from series import pool as series_pool
    from series.models import Series
    from stores.models import Store
    from stores.scopes import ALL_SCOPES
    from stores.services import api_key_create

    with connection.cursor() as cursor:
        cursor.execute("SELECT info FROM bench_dataset WHERE id = 1")
        info = cursor.fetchone()[0]
        if not isinstance(info, dict):
            info = json.loads(info)
    store = Store.objects.get(pk=info["store_id"])
    issued = api_key_create(
        store=store, scopes=list(ALL_SCOPES), outlet_code="till_1", name="bench"
    )
    key = issued.api_key
    digest = hashlib.md5(issued.secret.encode(), usedforsecurity=False).hexdigest()
    basic = base64.b64encode(f"{key.key_id}:{digest}".encode()).decode()
    token = (
        issued.token if hasattr(issued, "token") else f"{key.key_id}.{issued.secret}"
    )

    run_tag = f"{int(time.time()):x}".upper()

    def coupons(prefix: str, n: int, **limits) -> list[Coupon]:
        made = [
            Coupon(
                store=store,
                code=f"B{run_tag}{prefix}{i:02d}",
                discount_type=DiscountType.AMOUNT,
                discount_amount=500,
                **limits,
            )
            for i in range(n)
        ]
        return Coupon.objects.bulk_create(made)

    # Hot coupons: a store-wide limit reached early in the first round.
    hot_limit = {"redeem_limit_store_enabled": True, "redeem_limit_store_amount": 500}
    fixtures = {
        "store_id": store.id,
        "target_customer_id": info["target_customer_id"],
        "customers": info["customer_ids_sample"],
        "basic": basic,
        "token": token,
        "receive": [c.id for c in coupons("R", 16)],
        "receive_ideal": [c.id for c in coupons("RI", 16)],
        "redeem": [c.code for c in coupons("D", 16)],
        "redeem_ideal": [c.code for c in coupons("DI", 16)],
        "receive_hot": coupons("RH", 1, **hot_limit)[0].id,
        "redeem_hot": coupons("DH", 1, **hot_limit)[0].code,
        "hot_limit": hot_limit["redeem_limit_store_amount"],
    }
    # Two series with a pool deep enough for this run: ours, then the ideal's.
    series_ids = info["series_ids"][:2]
    for series_id in series_ids:
        series = Series.objects.get(pk=series_id)
        pooled = Coupon.objects.filter(series=series, pooled=True).count()
        if pooled < pool_needed:
            started = time.perf_counter()
            series_pool.series_generate_codes(series=series, count=pool_needed - pooled)
            log(
                f"series {series_id}: pool {pooled:,} topped up by "
                f"{pool_needed - pooled:,} in {time.perf_counter() - started:.1f} s"
            )
    fixtures["series"], fixtures["series_ideal"] = series_ids
    # The dataset is reused: earlier runs left dead rows (claimed pool codes, counter
    # updates) that would slow this run's scans, ours and the ideal's alike, by how
    # many runs came before.
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM (ANALYZE) coupons_coupon, assignments_assignment, "
            "coupons_redemption, audit_auditevent, customers_customer, series_series"
        )
    log(f"vacuumed the dataset's tables in {time.perf_counter() - started:.1f} s")
    fixtures["queries"] = count_queries(fixtures)
    connection.close()
    return fixtures


def count_queries(fx: dict) -> dict:
    """The queries of one request of each read endpoint (in process, same data)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    reads = {
        "capillary_list": (
            f"/v1.1/customer/coupons?id={fx['target_customer_id']}",
            {"HTTP_AUTHORIZATION": f"Basic {fx['basic']}"},
        ),
        "paynow_list": (
            f"/v1/stores/{fx['store_id']}/coupons?limit=100",
            {"HTTP_AUTHORIZATION": f"APIKey {fx['token']}"},
        ),
    }
    counted = {}
    for name, (url, headers) in reads.items():
        client.get(url, **headers)  # warm caches (content types, store)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, **headers)
        assert response.status_code == 200, (
            name,
            response.status_code,
            response.content[:300],
        )
        body = response.json()
        counted[name] = {
            "queries": len(ctx.captured_queries),
            "sql": [q["sql"][:300] for q in ctx.captured_queries],
            "bytes": len(response.content),
            "items": _items(body),
        }
    return counted


def _items(body) -> int | None:
    if isinstance(body, dict):
        for key in ("data", "coupons"):
            if isinstance(body.get(key), list):
                return len(body[key])
        customers = body.get("customers", {}).get("customer") if body else None
        if isinstance(customers, list) and customers:
            found = customers[0].get("coupons", {})
            found = found.get("coupon") if isinstance(found, dict) else found
            return len(found) if isinstance(found, list) else None
    return None


# --- 4. the server and the load ----------------------------------------------------


class Server:
    def __enter__(self) -> Server:
        env = {
            **os.environ,
            "DATABASE_URL": DATABASE,
            "BIND": f"127.0.0.1:{PORT}",
            "WEB_CONCURRENCY": str(WORKERS),
            "FLAKE_MACHINE_ID": "7",
            "BENCH_IDEAL": "1",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "API_KEY_RATE_LIMIT": "off",
            "LOG_LEVEL": "WARNING",
        }
        self.log = open(
            Path(tempfile.gettempdir()) / "couponhub-bench-gunicorn.log", "w"
        )
        self.proc = subprocess.Popen(
            [
                str(Path(PYTHON).parent / "gunicorn"),
                "-c",
                "config/gunicorn.py",
                "--access-logfile",
                "/dev/null",
                "config.wsgi",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{BASE}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /healthz")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def wrk(
    lines: list[str],
    *,
    connections: int,
    seconds: int,
    headers: dict[str, str] | None = None,
    pattern: str = "",
) -> dict:
    threads = min(2, connections)
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    args = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "-s",
        str(BENCH / "load.lua"),
    ]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    args.append(BASE)
    env = {
        **os.environ,
        "BENCH_REQUESTS": path,
        "BENCH_PATTERN": pattern,
        "BENCH_THREADS": str(threads),
    }
    try:
        out = subprocess.run(
            args,
            check=True,
            capture_output=True,
            text=True,
            env=env,
            timeout=seconds + 60,
        ).stdout
    finally:
        os.unlink(path)
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    row = json.loads(line[len("BENCH ") :])
    row["rps"] = row["requests"] / (row["duration_us"] / 1e6)
    for q in ("p50", "p90", "p99", "max"):
        row[f"{q}_ms"] = row.pop(f"{q}_us") / 1000
    return row


def _post(path: str, body: dict) -> str:
    return f"POST\t{path}\t{json.dumps(body, separators=(',', ':'))}"


def scenarios(fx: dict) -> dict[str, dict]:
    """name -> {ours: (lines, headers, kw), ideal: ...}; kw: connections, pattern."""
    customers = [int(c) for c in fx["customers"]]
    store = fx["store_id"]
    capillary = {
        "Authorization": f"Basic {fx['basic']}",
        "Content-Type": "application/json",
    }
    paynow = {
        "Authorization": f"APIKey {fx['token']}",
        "Content-Type": "application/json",
    }
    shoplazza = {"Access-Token": fx["token"], "Content-Type": "application/json"}
    plain = {"Content-Type": "application/json"}
    issue = "/v2/coupon/issue/multiple"

    def issue_lines(series: int, count: int, ideal: bool) -> list[str]:
        if ideal:
            return [
                _post(
                    "/bench/ideal/issue",
                    {"seriesId": series, "count": count, "customerId": c},
                )
                for c in customers
            ]
        return [
            _post(issue, {"seriesId": series, "count": count, "customer": {"id": c}})
            for c in customers
        ]

    def spread(items: list, n: int = 2000) -> list[tuple[int, object]]:
        # request k: customer k, item k mod len(items): 16 in-flight requests, 16 items
        return [
            (customers[k % len(customers)], items[k % len(items)]) for k in range(n)
        ]

    receive = "/openapi/2022-01/coupons/receive"
    redeem = f"/v1/stores/{store}/redemptions"
    status_pattern = r'^{"status":(%d+)'
    code_pattern = r'^{"status":%d+,"code":"([^"]+)"'
    return {
        "issue1": {
            "ours": (
                issue_lines(fx["series"], 1, False),
                capillary,
                {"connections": 16},
            ),
            "ideal": (
                issue_lines(fx["series_ideal"], 1, True),
                plain,
                {"connections": 16},
            ),
        },
        "issue500": {
            "ours": (
                issue_lines(fx["series"], 500, False),
                capillary,
                {"connections": 1},
            ),
            "ideal": (
                issue_lines(fx["series_ideal"], 500, True),
                plain,
                {"connections": 1},
            ),
        },
        "receive16": {
            "ours": (
                [
                    _post(receive, {"customer_id": str(c), "coupon_ids": [str(i)]})
                    for c, i in spread(fx["receive"])
                ],
                shoplazza,
                {"connections": 16, "pattern": status_pattern},
            ),
            "ideal": (
                [
                    _post(
                        "/bench/ideal/receive",
                        {"store_id": store, "customer_id": c, "coupon_id": i},
                    )
                    for c, i in spread(fx["receive_ideal"])
                ],
                plain,
                {"connections": 16, "pattern": status_pattern},
            ),
        },
        "redeem16": {
            "ours": (
                [
                    _post(
                        redeem,
                        {"code": code, "customer_id": str(c), "order_value": 10000},
                    )
                    for c, code in spread(fx["redeem"])
                ],
                paynow,
                {"connections": 16, "pattern": code_pattern},
            ),
            "ideal": (
                [
                    _post(
                        "/bench/ideal/redeem",
                        {
                            "store_id": store,
                            "customer_id": c,
                            "code": code,
                            "order_value": 10000,
                        },
                    )
                    for c, code in spread(fx["redeem_ideal"])
                ],
                plain,
                {"connections": 16, "pattern": code_pattern},
            ),
        },
        "receive_hot": {
            "ours": (
                [
                    _post(
                        receive,
                        {"customer_id": str(c), "coupon_ids": [str(fx["receive_hot"])]},
                    )
                    for c in customers
                ],
                shoplazza,
                {"connections": 16, "pattern": status_pattern},
            ),
        },
        "redeem_hot": {
            "ours": (
                [
                    _post(
                        redeem,
                        {
                            "code": fx["redeem_hot"],
                            "customer_id": str(c),
                            "order_value": 10000,
                        },
                    )
                    for c in customers
                ],
                paynow,
                {"connections": 16, "pattern": code_pattern},
            ),
        },
        "capillary_list": {
            "ours": (
                [f"GET\t/v1.1/customer/coupons?id={fx['target_customer_id']}\t"],
                capillary,
                {"connections": 4},
            ),
        },
        "paynow_list": {
            "ours": (
                [f"GET\t/v1/stores/{store}/coupons?limit=100\t"],
                paynow,
                {"connections": 4},
            ),
        },
        "noop": {
            "ours": (["GET\t/bench/ideal/noop\t"], plain, {"connections": 4}),
        },
    }


def load(fx: dict) -> dict[str, list[dict]]:
    plan = scenarios(fx)
    names = [n for n in plan if not ONLY or n in ONLY]
    results: dict[str, list[dict]] = {n: [] for n in names}
    with Server():
        log(f"gunicorn up on {BASE} with {WORKERS} workers")
        # Warm every worker and path (imports, connections) outside the timings.
        for name in names:
            for lines, headers, kw in plan[name].values():
                if name in ("receive_hot", "redeem_hot"):
                    continue
                wrk(lines, connections=kw["connections"], seconds=1, headers=headers)
        for round_no in range(1, ROUNDS + 1):
            for name in names:
                row = {}
                for side, (lines, headers, kw) in plan[name].items():
                    row[side] = wrk(
                        lines,
                        connections=kw["connections"],
                        seconds=DURATION,
                        headers=headers,
                        pattern=kw.get("pattern", ""),
                    )
                results[name].append(row)
                log(
                    f"round {round_no} {name}: "
                    + "; ".join(
                        f"{side} {r['rps']:.1f} req/s p50 {r['p50_ms']:.1f} ms "
                        f"p99 {r['p99_ms']:.1f} ms statuses {r['statuses']}"
                        + (f" answers {r['answers']}" if r["answers"] else "")
                        for side, r in row.items()
                    )
                )
    return results


# --- 5. figures ---------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return statistics.median(values)


def summarize(results: dict[str, list[dict]], gen: dict | None, fx: dict) -> list[dict]:
    rows: list[dict] = []
    if gen is not None:
        rows.append(
            {
                "path": f"generate {gen['count']:,} pooled codes",
                "measure": "seconds, ours / COPY of the same rows",
                "ours": gen["generate_s"],
                "ceiling": gen["copy_s"],
                "ratio": _median(gen["round_ratios"])
                if gen["round_ratios"]
                else gen["ratio"],
                "target": "<= 1.5",
                "met": (gen["ratio"] or 99) <= 1.5,
            }
        )

    def ratio_row(name, label, metric, target, better_low):
        rounds = results.get(name)
        if not rounds:
            return
        ratios = [r["ours"][metric] / r["ideal"][metric] for r in rounds]
        ratio = _median(ratios)
        rows.append(
            {
                "path": label,
                "measure": f"{metric}, ours / ideal endpoint",
                "ours": _median([r["ours"][metric] for r in rounds]),
                "ceiling": _median([r["ideal"][metric] for r in rounds]),
                "ratio": ratio,
                "round_ratios": ratios,
                "target": f"{'<=' if better_low else '>='} {target}",
                "met": ratio <= target if better_low else ratio >= target,
                "errors": _errors(rounds, "ours"),
            }
        )

    ratio_row(
        "issue1", "POST /v2/coupon/issue/multiple count=1, 16 conns", "rps", 0.6, False
    )
    ratio_row(
        "issue500",
        "POST /v2/coupon/issue/multiple count=500, 1 conn",
        "p50_ms",
        3,
        True,
    )
    ratio_row(
        "receive16",
        "POST /openapi/2022-01/coupons/receive, 16 coupons, 16 conns",
        "rps",
        0.6,
        False,
    )
    ratio_row(
        "redeem16",
        "POST /v1/stores/{id}/redemptions, 16 coupons, 16 conns",
        "rps",
        0.6,
        False,
    )
    for name, label in (
        (
            "receive_hot",
            "POST /openapi/2022-01/coupons/receive, 1 hot coupon (stock 500)",
        ),
        ("redeem_hot", "POST /v1/stores/{id}/redemptions, 1 hot coupon (limit 500)"),
    ):
        rounds = results.get(name)
        if rounds:
            answers: dict[str, int] = {}
            statuses: dict[str, int] = {}
            for r in rounds:
                for k, v in r["ours"]["answers"].items():
                    answers[k] = answers.get(k, 0) + v
                for k, v in r["ours"]["statuses"].items():
                    statuses[k] = statuses.get(k, 0) + v
            rows.append(
                {
                    "path": label,
                    "measure": "rps (answers over all rounds)",
                    "ours": _median([r["ours"]["rps"] for r in rounds]),
                    "ceiling": None,
                    "ratio": None,
                    "target": "only limit answers",
                    "statuses": statuses,
                    "answers": answers,
                    "met": None,
                }
            )
    noop = results.get("noop")
    for name, label in (
        (
            "capillary_list",
            "GET /v1.1/customer/coupons (50 coupons, 20 redemptions), 4 conns",
        ),
        ("paynow_list", "GET /v1/stores/{id}/coupons?limit=100, 4 conns"),
    ):
        rounds = results.get(name)
        if not rounds:
            continue
        row = {
            "path": label,
            "measure": "p99 ms, ours / noop endpoint",
            "ours": _median([r["ours"]["p99_ms"] for r in rounds]),
            "ours_p50": _median([r["ours"]["p50_ms"] for r in rounds]),
            "ours_rps": _median([r["ours"]["rps"] for r in rounds]),
            "queries": fx["queries"][name]["queries"],
            "target": f"fixed queries ({fx['queries'][name]['queries']})",
            "met": None,
            "ceiling": None,
            "ratio": None,
            "errors": _errors(rounds, "ours"),
        }
        if noop:
            ratios = [
                r["ours"]["p99_ms"] / n["ours"]["p99_ms"]
                for r, n in zip(rounds, noop, strict=False)
            ]
            row["ceiling"] = _median([n["ours"]["p99_ms"] for n in noop])
            row["ratio"] = _median(ratios)
        rows.append(row)
    return rows


def _errors(rounds: list[dict], side: str) -> int:
    total = 0
    for r in rounds:
        data = r[side]
        total += sum(v for k, v in data["statuses"].items() if int(k) >= 500)
        total += data["timeouts"] + data["connect_errors"] + data["read_errors"]
    return total


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _rounded(values: list[float]) -> list[float]:
    return [round(x, 2) for x in values]


def markdown(rows: list[dict], meta: dict) -> str:
    lines = [
        f"# Benchmark {meta['date']}{' (quick)' if QUICK else ''}",
        "",
        f"{meta['machine']}; PostgreSQL {meta['postgres']}; gunicorn {WORKERS} "
        f"workers (config/gunicorn.py) on 127.0.0.1; wrk; {ROUNDS} rounds of "
        f"{DURATION} s per scenario; "
        "every ratio is the median of the per-round ratios to a ceiling measured in "
        "the same round.",
        "",
        f"Dataset: {meta['dataset']}",
        "",
        "| path | measure | ours | ceiling | ratio | target | met |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        met = {True: "yes", False: "**no**", None: "-"}[row["met"]]
        lines.append(
            f"| {row['path']} | {row['measure']} | {_fmt(row['ours'])} | "
            f"{_fmt(row['ceiling'])} | {_fmt(row['ratio'])} | {row['target']} | {met} |"
        )
    lines += ["", "Details:", ""]
    for row in rows:
        extra = {
            k: v
            for k, v in row.items()
            if k
            in (
                "statuses",
                "answers",
                "errors",
                "queries",
                "ours_p50",
                "ours_rps",
                "round_ratios",
            )
        }
        if extra:
            lines.append(
                f"- {row['path']}: "
                + ", ".join(
                    f"{k} {_fmt(v) if not isinstance(v, list) else _rounded(v)}"
                    for k, v in extra.items()
                )
            )
    lines += ["", "Queries per read request (in process, same data):", ""]
    for name, q in meta["queries"].items():
        lines.append(
            f"- {name}: {q['queries']} queries, {q['items']} items, "
            f"{q['bytes']:,} bytes"
        )
        lines += [f"  - `{sql}`" for sql in q["sql"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    started = time.perf_counter()
    import shutil

    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    ensure_database(DATABASE)
    (BENCH / "results").mkdir(exist_ok=True)
    log(f"mode {'quick' if QUICK else 'full'}: {ROUNDS} rounds x {DURATION} s")
    data = dataset()
    gen = None if os.environ.get("BENCH_SKIP_CODEGEN") == "1" else codegen()
    extra = inproc()
    # Pool for this run: count=1 at up to ~600 req/s, count=500 at up to ~20 req/s.
    pool_needed = (ROUNDS + 1) * DURATION * (600 + 20 * 500)
    fx = prepare(pool_needed)
    results = load(fx)
    import psycopg

    with psycopg.connect(DATABASE) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    meta = {
        "date": datetime.now(tz=UTC).date().isoformat(),
        "quick": QUICK,
        "machine": f"{os.cpu_count()} cores",
        "postgres": postgres,
        "dataset": data["log"].splitlines()[0],
        "queries": fx["queries"],
        "workers": WORKERS,
        "rounds": ROUNDS,
        "duration_s": DURATION,
    }
    rows = summarize(results, gen, fx)
    tag = os.environ.get("BENCH_TAG", "")
    stem = (
        BENCH
        / "results"
        / (f"{meta['date']}{'-quick' if QUICK else ''}{f'-{tag}' if tag else ''}")
    )
    payload = {
        "meta": meta,
        "rows": rows,
        "raw": results,
        "codegen": gen,
        "inproc": extra,
    }
    stem.with_suffix(".json").write_text(json.dumps(payload, indent=2, default=str))
    table = markdown(rows, meta)
    stem.with_suffix(".md").write_text(table)
    print(table)
    log(f"wrote {stem}.json and .md in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
