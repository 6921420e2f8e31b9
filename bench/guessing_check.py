"""The guessing limit's cost per code lookup, alone (issue 20 part 3).

Every request that looks a code up first asks ``stores.guessing.Guard.check``
whether its API key and customer are locked out: with a limit in force, one GET of
the pair's lock key in the shared cache; with none, no read. This times that call
alone, in process, against the cache ``CACHE_URL`` names (give it a Redis database
of its own), and a bare ``cache.get`` beside it, interleaved rounds, medians:

    CACHE_URL=redis://127.0.0.1:6379/3 .venv/bin/python bench/guessing_check.py \
        [--calls 5000] [--rounds 7]

No database is read: the store and the key are unsaved stand-ins.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import caches  # noqa: E402

from stores.guessing import Guard  # noqa: E402
from stores.models import Store  # noqa: E402

STORE = Store(id=1, code="bench-guessing", code_guess_limit=None)
ACTOR = SimpleNamespace(key=SimpleNamespace(pk=424_242))


def check(limit: int) -> Callable[[int], None]:
    def call(n: int) -> None:
        settings.CODE_GUESS_LIMIT = limit
        Guard(store=STORE, actor=ACTOR).check(1_000 + n % 50)

    return call


def bare_get(n: int) -> None:
    caches["default"].get(f"bench-guessing:{n % 50}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    cache = settings.CACHES["default"]
    print(f"cache: {cache['BACKEND']} {cache.get('LOCATION', '')}")
    sides = {
        "check, no limit (no read)": check(0),
        "check, limit 20 (one GET)": check(20),
        "cache.get alone": bare_get,
    }
    for call in sides.values():  # connect, warm up
        for n in range(200):
            call(n)
    wall: dict[str, list[float]] = {label: [] for label in sides}
    cpu: dict[str, list[float]] = {label: [] for label in sides}
    for _round in range(args.rounds):
        for label, call in sides.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            for n in range(args.calls):
                call(n)
            wall[label].append((time.perf_counter() - started) / args.calls * 1e6)
            cpu[label].append((time.process_time() - cpu_started) / args.calls * 1e6)
    print(
        f"{'per call, median of ' + str(args.rounds) + ' rounds':30s}"
        f"{'wall us [min-max]':>24s}{'CPU us':>10s}"
    )
    for label in sides:
        w = wall[label]
        print(
            f"{label:30s}{statistics.median(w):10.1f} [{min(w):.1f}-{max(w):.1f}]"
            f"{statistics.median(cpu[label]):10.1f}"
        )


if __name__ == "__main__":
    main()
