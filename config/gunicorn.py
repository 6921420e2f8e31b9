"""gunicorn settings: ``gunicorn -c config/gunicorn.py config.wsgi``.

Each worker gets its own flake worker id, ``FLAKE_MACHINE_ID * 64 + slot``, where the
slot is the lowest one no live worker holds (a restarted worker takes the freed slot).
Give every machine its own ``FLAKE_MACHINE_ID`` (0..7).
"""

import os
import re

from gunicorn.glogging import Logger

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# Threads, not one request per process: a client that sends half a request holds
# one thread until it goes away, not a whole worker (a sync worker would be taken
# by each such client, and four of them took /healthz down). Each thread keeps its
# own database connection: up to workers * threads per machine. Facing the
# internet, put a buffering proxy in front (README, deployment): it alone bounds
# how long a slow client may take to send its request.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
# A worker holds no more connections than it has threads: one whose threads are all
# taken (slow clients, long requests) stops accepting and leaves new connections to
# the other workers, instead of queueing them behind its own (gunicorn's default of
# 1,000 let one worker take every half-open client and then /healthz behind them).
worker_connections = threads
# The longest request line a documented request makes: v1.1 isredeemable takes up to
# 50 codes of up to 100 characters in its query (coupons/api/capillary.py MAX_CODES,
# MAX_CODE_LENGTH), about 5,050 characters, 5,200 with the commas percent-encoded, and
# the customer's identifiers. gunicorn's default of 4,094 answered that with an HTML
# 414 before the app saw it; 8,190 is gunicorn's maximum (and what nginx's default
# large_client_header_buffers, 8k, passes on). A header line keeps gunicorn's default
# limit_request_field_size, also 8,190: no header of any dialect comes near it.
limit_request_line = 8190
accesslog = "-"
# The combined log format, except the user (%(u)s), always "-": gunicorn decodes it
# from an ``Authorization: Basic`` header, and a client that sends
# ``Basic base64(<token>)`` (no colon) had its whole token written as the user.
access_log_format = '%(h)s %(l)s - %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
SLOTS = 64


# Request headers (lower case) that carry a credential, in every dialect's auth form.
CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "access-token",
        "x-cap-api-oauth-token",
        "cookie",
    }
)


class CredentialFreeLogger(Logger):
    """Gunicorn's logger, with no credential for any access log format to print.

    Whatever ``access_log_format`` an operator sets (``--access-logformat``,
    ``GUNICORN_CMD_ARGS``), the user is "-", and so are the credential headers, as
    request headers (``%({authorization}i)s``) or as WSGI variables
    (``%({http_authorization}e)s``), and ``Set-Cookie``; and the error log does not
    repeat a malformed header line, which may be a credential without its colon.
    """

    def warning(self, msg, *args, **kwargs):
        super().warning(_without_header_line(msg), *args, **kwargs)

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["u"] = "-"
        for name in [name for name in atoms if _is_credential(name)]:
            del atoms[name]  # a missing atom prints as "-"
        return atoms


def _is_credential(atom: str) -> bool:
    if not (atom.startswith("{") and atom[-2:-1] == "}"):
        return False
    name, kind = atom[1:-2].lower(), atom[-1]
    if kind == "i":
        return name in CREDENTIAL_HEADERS
    if kind == "e":
        return name.startswith("http_") and (
            name[5:].replace("_", "-") in CREDENTIAL_HEADERS
        )
    return kind == "o" and name == "set-cookie"


# What gunicorn names in "Invalid HTTP Header: '...'" when it names a header: its
# name, upper-cased. Otherwise it is a whole line without a colon, such as
# "Authorization APIKey <token>", which is not logged.
_HEADER_NAME = re.compile(r"[A-Z0-9!#$%&*+.^_`|~-]+")
_INVALID_HEADER = "Invalid HTTP Header: "


def _without_header_line(msg):
    if not isinstance(msg, str) or _INVALID_HEADER not in msg:
        return msg
    head, _, shown = msg.partition(_INVALID_HEADER)
    if _HEADER_NAME.fullmatch(shown.strip("'\"")):
        return msg
    return f"{head}{_INVALID_HEADER}a line without a colon (not logged)"


logger_class = CredentialFreeLogger


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


# prometheus-client's multiprocess mode (README, "Metrics and request ids"): each
# worker keeps its counters in a file of PROMETHEUS_MULTIPROC_DIR, and a scrape sums
# them. The files of a previous run would be summed too: the directory starts empty.


def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder and workers > 1:
        server.log.warning(
            "PROMETHEUS_MULTIPROC_DIR is not set: /metrics shows the counts of "
            "whichever of the %d workers answers the scrape, not their sum",
            workers,
        )
    if folder:
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            if name.endswith(".db"):
                os.remove(os.path.join(folder, name))


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
