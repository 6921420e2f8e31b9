"""Profile one scenario of ``bench/run.py`` in process with pyinstrument.

Replays the first ``--requests`` requests of a scenario's "ours" side through
Django's test client (the whole stack minus the socket) on the benchmark database,
and prints pyinstrument's call tree, plus the queries of one request. Needs the
``bench`` extra (``pip install -e '.[bench]'``) and a dataset (``make bench`` or
``bench/dataset.py``).

    .venv/bin/python bench/profile.py redeem16 [--requests 200] [--side ours]
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
    args = parser.parse_args()

    from pyinstrument import Profiler

    fx = run.prepare(pool_needed=args.requests * 500 + 1000)
    if args.time:
        compare(run.scenarios(fx)[args.scenario], args.requests)
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


if __name__ == "__main__":
    main()
