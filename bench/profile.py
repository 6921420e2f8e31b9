"""Profile one scenario of ``bench/run.py`` in process with pyinstrument.

Replays the first ``--requests`` requests of a scenario's "ours" side through
Django's test client (the whole stack minus the socket) on the benchmark database,
and prints pyinstrument's call tree, plus the queries of one request. Needs the
``bench`` extra (``pip install -e '.[bench]'``) and a dataset (``make bench`` or
``bench/dataset.py``).

    .venv/bin/python bench/profile.py redeem16 [--requests 200] [--side ours]

``--time`` compares both sides' wall time per request; ``--layers`` their CPU time
(``time.process_time``) per request, split by layer (authentication, validation, the
service, its round trips, rendering...): what a gunicorn worker spends, which is
what sets the wrk ratio when both sides fill the cores. Profilers inflate small
calls several-fold, and a function timed alone in a loop runs warm and reads several
times cheaper than inside a request; these are the in-request figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # sets the environment; prepare() sets Django up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--side", default="ours")
    parser.add_argument("--html", help="also write pyinstrument's HTML here")
    parser.add_argument(
        "--show-all", action="store_true", help="every frame, library ones too"
    )
    parser.add_argument(
        "--time",
        action="store_true",
        help="no profiler: time both sides in process, one client, and compare",
    )
    parser.add_argument(
        "--layers",
        action="store_true",
        help="no profiler: CPU time per request of each layer, both sides",
    )
    args = parser.parse_args()

    from pyinstrument import Profiler

    fx = run.prepare(pool_needed=args.requests * 500 + 1000)
    if args.time:
        compare(run.scenarios(fx)[args.scenario], args.requests)
        return
    if args.layers:
        layers(run.scenarios(fx)[args.scenario], args.requests)
        return
    lines, headers, _kw = run.scenarios(fx)[args.scenario][args.side]

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    send = sender(headers)
    first = send(lines[0])
    print(f"first answer {first.status_code}: {first.content[:300]!r}")
    with CaptureQueriesContext(connection) as ctx:
        send(lines[1 % len(lines)])
    print(f"queries of one request: {len(ctx.captured_queries)}")
    for query in ctx.captured_queries:
        print(f"  {query['time']}s  {query['sql'][:400]}")

    profiler = Profiler(interval=0.0005)
    started = time.perf_counter()
    profiler.start()
    for n in range(args.requests):
        send(lines[(n + 2) % len(lines)])
    profiler.stop()
    seconds = time.perf_counter() - started
    print(
        f"{args.requests} requests in {seconds:.2f} s: "
        f"{seconds / args.requests * 1000:.2f} ms each (profiled)"
    )
    print(profiler.output_text(unicode=False, color=False, show_all=args.show_all))
    if args.html:
        Path(args.html).write_text(profiler.output_html())


def sender(headers: dict):
    """A function sending one request line through Django's test client."""
    from django.test import Client

    meta = {
        "CONTENT_TYPE"
        if name == "Content-Type"
        else "HTTP_" + name.upper().replace("-", "_"): value
        for name, value in headers.items()
    }
    client = Client(SERVER_NAME="127.0.0.1")

    def send(line: str):
        method, path, body = line.split("\t", 2)
        if method == "GET":
            return client.get(path, **meta)
        return client.generic(method, path, body.encode(), **meta)

    return send


def compare(scenario: dict, requests: int) -> None:
    """Mean in-process time per request of each side, interleaved in 5 rounds."""
    sides = {}
    for side in ("ours", "ideal"):
        lines, headers, _kw = scenario[side]
        sides[side] = (lines, sender(headers))
    spent = dict.fromkeys(sides, 0.0)
    sent = dict.fromkeys(sides, 0)
    for round_ in range(5):
        for side, (lines, send) in sides.items():
            started = time.perf_counter()
            for n in range(requests // 5):
                k = round_ * (requests // 5) + n
                send(lines[k % len(lines)])
            spent[side] += time.perf_counter() - started
            sent[side] += requests // 5
    ms = {side: spent[side] / sent[side] * 1000 for side in sides}
    print(
        f"ours {ms['ours']:.2f} ms, ideal {ms['ideal']:.2f} ms per request; "
        f"ideal/ours {ms['ideal'] / ms['ours']:.2f}"
    )


def _layer_points() -> list[tuple[object, str, str]]:
    """(owner, attribute, label) of every function ``layers`` times."""
    from django.core.handlers.base import BaseHandler
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper
    from rest_framework.request import Request
    from rest_framework.serializers import BaseSerializer
    from rest_framework.views import APIView

    from assignments.receive import service as receive
    from core import serializers, sql
    from coupons.redeem import service as redeem
    from series.issue import service as issue

    return [
        (BaseHandler, "get_response", "Django: middleware, URL, view"),
        (APIView, "dispatch", "DRF dispatch"),
        (APIView, "perform_authentication", "  authentication"),
        (APIView, "check_permissions", "  permissions"),
        (APIView, "check_throttles", "  throttles"),
        (APIView, "perform_content_negotiation", "  content negotiation"),
        (Request, "_load_data_and_files", "  parsing the body"),
        (BaseSerializer, "is_valid", "  input validation"),
        (serializers.SharedFieldsOutput, "to_representation", "  output (nested too)"),
        (APIView, "finalize_response", "  finalize and render"),
        (receive, "receive_coupons", "  service: receive"),
        (redeem, "redemption_create", "  service: redeem"),
        (issue, "series_issue", "  service: issue"),
        (sql, "fetch_batch", "    core.sql.fetch_batch (reads)"),
        (sql, "write", "    core.sql.write (writes)"),
        (CursorWrapper, "execute", "    every statement sent (execute)"),
        (BaseDatabaseWrapper, "commit", "    COMMIT"),
    ]


def layers(scenario: dict, requests: int, rounds: int = 5) -> None:
    """CPU time per request of each layer, ours and ideal interleaved in rounds;
    medians. A layer nested in itself (a nested serializer) counts once."""
    import statistics
    from collections import Counter

    spent: Counter[str] = Counter()
    depth: Counter[str] = Counter()

    def timed(function, label):
        def wrapper(*args, **kwargs):
            depth[label] += 1
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                depth[label] -= 1
                if not depth[label]:
                    spent[label] += time.process_time() - started

        return wrapper

    points = [
        (owner, name, label)
        for owner, name, label in _layer_points()
        if hasattr(owner, name)
    ]
    for owner, name, label in points:
        setattr(owner, name, timed(getattr(owner, name), label))
    sides = {}
    for side in ("ours", "ideal"):
        lines, headers, _kw = scenario[side]
        sides[side] = (lines, sender(headers))
    figures: dict[str, dict[str, list[float]]] = {side: {} for side in sides}
    per_round = max(requests // rounds, 1)
    for round_ in range(rounds):
        for side, (lines, send) in sides.items():
            spent.clear()
            started = time.process_time()
            for n in range(per_round):
                send(lines[(round_ * per_round + n) % len(lines)])
            spent["request, all of it"] = time.process_time() - started
            for label, seconds in spent.items():
                figures[side].setdefault(label, []).append(seconds / per_round * 1e6)
    order = ["request, all of it"] + [label for _o, _n, label in points]
    print(
        f"{'CPU per request, median of ' + str(rounds) + ' rounds (us)':46s}"
        f"{'ours':>8s}{'ideal':>8s}"
    )
    for label in order:
        row = [statistics.median(figures[s].get(label, [0.0])) for s in sides]
        if any(row):
            print(f"{label:46s}{row[0]:8.0f}{row[1]:8.0f}")


if __name__ == "__main__":
    main()
