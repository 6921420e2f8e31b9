"""A local-only admin user with a fresh random password, printed once."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Create (or reset) the local superuser 'admin' with a new random password and "
        "print it. Refuses to run unless DEBUG is on: it is for a developer machine."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, **opts):
        if not settings.DEBUG:
            raise CommandError("ensure_local_admin only runs with DEBUG=1 (local use).")
        password = secrets.token_urlsafe(12)
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=opts["username"], defaults={"is_staff": True, "is_superuser": True}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        verb = "Created" if created else "Reset"
        self.stdout.write(
            f"{verb} local admin user '{user.username}' with password: {password}"
        )
