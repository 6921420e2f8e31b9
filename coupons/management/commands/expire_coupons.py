from datetime import UTC, datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from core.actors import SYSTEM
from core.progress import CommandProgress
from coupons import services
from stores.management.commands._common import find_store


def parse_moment(value: str, option: str = "--before") -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(
                f"{option} {value!r}: use YYYY-MM-DD or an ISO 8601 date-time."
            )
        moment = datetime.combine(day, time.min)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Disable a store's coupons that expired before --before (default: now) and "
        "report how many."
    )

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="Store id or code")
        parser.add_argument("--before", help="YYYY-MM-DD or ISO date-time (UTC)")
        parser.add_argument("--dry-run", action="store_true", help="Only count")

    def handle(self, *args, **opts):
        store = find_store(opts["store"])
        before = parse_moment(opts["before"]) if opts["before"] else None
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
