from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from stores import services
from stores.management.commands._common import dumps, find_store
from stores.scopes import ALL_SCOPES


class Command(BaseCommand):
    help = (
        "Create an API key for a store and print its secret (shown this once only). "
        f"Scopes: {', '.join(ALL_SCOPES)}."
    )

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="Store id or code")
        parser.add_argument(
            "--scopes",
            default=",".join(ALL_SCOPES),
            help="Comma-separated scopes (default: all)",
        )
        parser.add_argument("--outlet", help="Outlet code: the key becomes its till")
        parser.add_argument("--name", default="", help="A label for staff")
        parser.add_argument("--json", action="store_true", help="Print JSON")

    def handle(self, *args, **opts):
        store = find_store(opts["store"])
        try:
            issued = services.api_key_create(
                store=store,
                scopes=services.parse_scopes(opts["scopes"]),
                outlet_code=opts["outlet"],
                name=opts["name"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if opts["json"]:
            self.stdout.write(
                dumps(
                    {
                        "key_id": issued.api_key.key_id,
                        "secret": issued.secret,
                        "token": issued.token,
                    }
                )
            )
            return
        self.stdout.write(f"key_id: {issued.api_key.key_id}")
        self.stdout.write(f"secret: {issued.secret}")
        self.stdout.write(f"token:  {issued.token}")
        self.stdout.write("The secret is not stored; keep it now.")
