from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.actors import SYSTEM
from core.progress import CommandProgress
from core.timefmt import iso_millis_z, parse_instant
from coupons import services
from stores.management.commands._common import find_store


def parse_moment(value: str, option: str = "--before") -> datetime:
    """``value`` as RFC 3339 (``core.timefmt.parse_instant``): a date is its
    midnight, a date-time without an offset is UTC. A day or time that does not
    exist (2027-02-30, hour 25) is refused like any other bad input."""
    moment = parse_instant(value)
    if moment is None:
        raise CommandError(
            f"{option} {value!r}: not a real date or date-time; use YYYY-MM-DD or "
            "YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM] (UTC without an offset)."
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Disable a store's enabled coupons whose expires_at is past (before now, or "
        "before --before, which cannot be later than now) and report how many."
    )

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="Store id or code")
        parser.add_argument(
            "--before",
            help="Only coupons that expired before this (YYYY-MM-DD or RFC 3339, UTC; "
            "not later than now)",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only count")

    def handle(self, *args, **opts):
        store = find_store(opts["store"])
        before = opts["before"]
        before = parse_moment(before) if before is not None else None
        now = timezone.now()
        if before is not None and before > now:
            raise CommandError(
                f"--before {opts['before']!r} is later than now "
                f"({iso_millis_z(now)}): expire_coupons only disables coupons already "
                "past their expires_at. To disable live coupons, use bulk_coupons "
                "--action disable."
            )
        bar = CommandProgress(self.stderr, total=None, desc="expire_coupons")
        result = services.coupons_expire(
            store=store,
            actor=SYSTEM,
            before=before,
            dry_run=opts["dry_run"],
            progress=bar.update,
        )
        bar.close()
        if opts["dry_run"]:
            self.stdout.write(f"[dry run] {result.matched} coupons would be disabled")
        else:
            self.stdout.write(f"Disabled {result.disabled} expired coupons")
