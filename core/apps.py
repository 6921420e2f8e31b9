from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.core.signals import request_finished
        from django.db.backends.signals import connection_created

        from core import (
            checks,  # registers the deployment's system checks
            metrics,
            observability,
            schema,  # noqa: F401  (registers the OpenAPI auth extensions)
        )

        checks.warn_at_server_start()
        # Every connection counts its errors in /metrics.
        connection_created.connect(metrics.watch_connection)
        request_finished.connect(observability.clear)
