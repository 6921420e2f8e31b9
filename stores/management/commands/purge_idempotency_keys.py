from django.core.management.base import BaseCommand

from stores.idempotency import purge_expired, ttl


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than IDEMPOTENCY_TTL_HOURS (24)."

    def handle(self, *args, **opts):
        deleted = purge_expired()
        self.stdout.write(f"Deleted {deleted} idempotency keys older than {ttl()}.")
