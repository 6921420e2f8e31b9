"""``bulk_coupons``: a bulk action on a filtered set of a store's coupons."""

from django.core.management.base import BaseCommand, CommandError

from core import flake
from core.actors import SYSTEM
from core.errors import DomainError
from core.progress import CommandProgress
from coupons import bulk
from coupons.exporter import FORMATS, write_export
from coupons.management.commands.expire_coupons import parse_moment
from coupons.models import DiscountType, Origin
from series.models import Series
from stores.management.commands._common import (
    find_store,
    open_output,
    output_path,
)

YES_NO = {"yes": True, "no": False}


class Command(BaseCommand):
    help = (
        "Extend the expiry of, disable, enable or export a store's coupons selected "
        "by the filters (those of the admin's coupon list), in batches, one "
        "transaction each, one audit event per coupon changed. A rerun changes "
        "nothing more; --dry-run only counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="Store id or code")
        parser.add_argument("--series", help="Only this series' codes (series id)")
        parser.add_argument("--enabled", choices=sorted(YES_NO))
        parser.add_argument("--origin", choices=Origin.values)
        parser.add_argument("--discount-type", choices=DiscountType.values)
        parser.add_argument("--pooled", choices=sorted(YES_NO))
        parser.add_argument("--archived", choices=sorted(YES_NO))
        parser.add_argument(
            "--search", default="", help="As the admin's search box (exact)"
        )
        parser.add_argument("--action", required=True, choices=bulk.ACTIONS)
        parser.add_argument(
            "--expires-at", help="extend_expiry: the new expiry (ISO, UTC)"
        )
        parser.add_argument("--format", choices=FORMATS, default="csv", dest="fmt")
        parser.add_argument("--output", help="export: the file to write")
        parser.add_argument("--batch", type=int, default=bulk.BATCH)
        parser.add_argument("--dry-run", action="store_true", help="Only count")

    def handle(self, *args, **opts):
        store = find_store(opts["store"])
        coupons = bulk.CouponFilter(
            store_id=store.pk,
            series_id=self._series(opts["series"], store),
            enabled=_yes_no(opts["enabled"]),
            origin=opts["origin"],
            discount_type=opts["discount_type"],
            pooled=_yes_no(opts["pooled"]),
            archived=_yes_no(opts["archived"]),
            search=opts["search"],
        )
        expires = opts["expires_at"]
        action = bulk.BulkAction(
            action=opts["action"],
            expires_at=(
                parse_moment(expires, "--expires-at") if expires is not None else None
            ),
            format=opts["fmt"],
        )
        if action.action == bulk.EXPORT and not (opts["output"] or opts["dry_run"]):
            raise CommandError("--action export needs --output.")
        if opts["batch"] < 1:
            raise CommandError("--batch must be at least 1.")
        try:
            counts = bulk.bulk_counts(coupons, action)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if opts["dry_run"]:
            self.stdout.write(
                f"[dry run] {counts.matched} coupons match ({coupons.describe()}); "
                f"{action.action} would change {counts.to_change}"
            )
            return
        if action.action == bulk.EXPORT:
            self._export(coupons, action, opts["output"], counts.matched)
            return
        bar = CommandProgress(self.stderr, total=counts.to_change, desc=action.action)
        try:
            outcome = bulk.bulk_apply(
                coupons, action, actor=SYSTEM, size=opts["batch"], progress=bar.update
            )
        finally:
            bar.close()
        self.stdout.write(
            f"{action.action}: changed {outcome.changed} of {counts.matched} "
            "coupons matched"
        )

    def _series(self, value: str | None, store) -> int | None:
        if value is None:
            return None
        series_id = flake.parse(value)
        if (
            not series_id
            or not Series.objects.filter(id=series_id, store=store).exists()
        ):
            raise CommandError(f"Series {value!r} not found in this store.")
        return series_id

    def _export(self, coupons, action, output: str, total: int) -> None:
        path = output_path(output, "--output")
        bar = CommandProgress(self.stderr, total=total, desc="export")
        with open_output(path, "--output") as out:
            count = write_export(
                queryset=coupons.queryset().order_by("id"),
                out=out,
                fmt=action.format,
                progress=bar.update,
            )
        bar.close()
        self.stdout.write(f"export: {count} coupons to {path}")


def _yes_no(value: str | None) -> bool | None:
    return None if value is None else YES_NO[value]
