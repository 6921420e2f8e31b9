from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from stores import services
from stores.management.commands._common import dumps, find_store, store_json


class Command(BaseCommand):
    help = "Change a store: activate/deactivate it, its time zone or currency."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="Store id or code")
        active = parser.add_mutually_exclusive_group()
        active.add_argument(
            "--active", dest="is_active", action="store_true", default=None
        )
        active.add_argument("--inactive", dest="is_active", action="store_false")
        parser.add_argument("--timezone")
        parser.add_argument("--currency")
        parser.add_argument("--name")
        parser.add_argument("--json", action="store_true", help="Print JSON")

    def handle(self, *args, **opts):
        store = find_store(opts["store"])
        try:
            store = services.store_update(
                store=store,
                is_active=opts["is_active"],
                timezone_name=opts["timezone"],
                currency=opts["currency"],
                name=opts["name"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if opts["json"]:
            self.stdout.write(dumps(store_json(store)))
        else:
            state = "active" if store.is_active else "inactive"
            self.stdout.write(
                f"Store {store.code}: {state}, {store.timezone}, {store.currency}"
            )
