from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from stores import services
from stores.management.commands._common import dumps


class Command(BaseCommand):
    help = "Revoke an API key: every request with it is refused from now on."

    def add_arguments(self, parser):
        parser.add_argument("--key-id", required=True)
        parser.add_argument("--json", action="store_true", help="Print JSON")

    def handle(self, *args, **opts):
        try:
            api_key = services.api_key_revoke(key_id=opts["key_id"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if opts["json"]:
            self.stdout.write(dumps({"key_id": api_key.key_id, "revoked": True}))
        else:
            self.stdout.write(f"Revoked {api_key.key_id}")
