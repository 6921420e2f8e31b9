from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core import (
            checks,  # registers the deployment's system checks
            schema,  # noqa: F401  (registers the OpenAPI auth extensions)
        )

        checks.warn_at_server_start()
