from django.core.management.base import BaseCommand, CommandError

from coupons.redeem import service as redeem


class Command(BaseCommand):
    help = (
        "Mark the holds that have ended expired (a tidy-up: an ended hold already "
        "counts for nothing) and report how many."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--dry-run", action="store_true", help="Only count")

    def handle(self, *args, **opts):
        if opts["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        count = redeem.holds_expire(
            batch_size=opts["batch_size"], dry_run=opts["dry_run"]
        )
        if opts["dry_run"]:
            self.stdout.write(f"[dry run] {count} ended holds would be marked expired")
        else:
            self.stdout.write(f"Marked {count} ended holds expired")
