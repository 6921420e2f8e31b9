from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from stores import services
from stores.management.commands._common import dumps, find_store


class Command(BaseCommand):
    help = "Create an outlet (a point of sale) inside a store."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="Store id or code")
        parser.add_argument("--code", required=True, help="Unique in the store")
        parser.add_argument("--name", required=True)
        parser.add_argument("--json", action="store_true", help="Print JSON")

    def handle(self, *args, **opts):
        store = find_store(opts["store"])
        try:
            outlet = services.outlet_create(
                store=store, code=opts["code"], name=opts["name"]
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if opts["json"]:
            self.stdout.write(
                dumps(
                    {
                        "id": str(outlet.id),
                        "store_id": str(store.id),
                        "code": outlet.code,
                        "name": outlet.name,
                    }
                )
            )
        else:
            self.stdout.write(
                f"Created outlet {outlet.code} in {store.code} id={outlet.id}"
            )
