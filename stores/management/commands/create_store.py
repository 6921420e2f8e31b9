from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from stores import services
from stores.management.commands._common import dumps, store_json


class Command(BaseCommand):
    help = "Create a store (a tenant). Prints its id; --json prints it as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--code", required=True, help="Unique slug, e.g. demo-shop")
        parser.add_argument(
            "--timezone", default="UTC", help="IANA zone, e.g. Asia/Kolkata"
        )
        parser.add_argument("--currency", default="USD", help="ISO 4217 code, e.g. EUR")
        parser.add_argument("--json", action="store_true", help="Print JSON")

    def handle(self, *args, **opts):
        try:
            store = services.store_create(
                name=opts["name"],
                code=opts["code"],
                timezone_name=opts["timezone"],
                currency=opts["currency"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if opts["json"]:
            self.stdout.write(dumps(store_json(store)))
        else:
            self.stdout.write(
                f"Created store {store.name} ({store.code}) id={store.id}"
            )
