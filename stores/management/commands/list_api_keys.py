from django.core.management.base import BaseCommand

from core.timefmt import iso_millis_z
from stores import selectors
from stores.management.commands._common import dumps, find_store


class Command(BaseCommand):
    help = "List a store's API keys (never their secrets)."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="Store id or code")
        parser.add_argument("--json", action="store_true", help="Print JSON")

    def handle(self, *args, **opts):
        store = find_store(opts["store"])
        rows = [
            {
                "key_id": key.key_id,
                "name": key.name,
                "scopes": key.scopes,
                "outlet": key.outlet.code if key.outlet else None,
                "created_at": iso_millis_z(key.created_at),
                "revoked_at": iso_millis_z(key.revoked_at),
            }
            for key in selectors.api_key_list(store=store)
        ]
        if opts["json"]:
            self.stdout.write(dumps(rows))
            return
        for row in rows:
            state = "revoked" if row["revoked_at"] else "active"
            outlet = f" outlet={row['outlet']}" if row["outlet"] else ""
            self.stdout.write(
                f"{row['key_id']}  {state:7}  {','.join(row['scopes'])}{outlet}"
                f"  {row['name']}"
            )
        if not rows:
            self.stdout.write("No API keys.")
