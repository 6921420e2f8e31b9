"""gunicorn settings: ``gunicorn -c config/gunicorn.py config.wsgi``.

Each worker gets its own flake worker id, ``FLAKE_MACHINE_ID * 64 + slot``, where the
slot is the lowest one no live worker holds (a restarted worker takes the freed slot).
Give every machine its own ``FLAKE_MACHINE_ID`` (0..7).
"""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
accesslog = "-"
SLOTS = 64


def _machine_id() -> int:
    machine = int(os.environ.get("FLAKE_MACHINE_ID", "0"))
    if not 0 <= machine <= 7:
        raise ValueError("FLAKE_MACHINE_ID must be 0..7")
    return machine


def pre_fork(server, worker):
    taken = {getattr(w, "flake_slot", None) for w in server.WORKERS.values()}
    worker.flake_slot = next(slot for slot in range(SLOTS) if slot not in taken)


def post_fork(server, worker):
    os.environ["FLAKE_WORKER_ID"] = str(_machine_id() * SLOTS + worker.flake_slot)
