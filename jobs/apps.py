from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Background jobs"

    def ready(self) -> None:
        from core import metrics
        from jobs.metrics import JobsCollector

        # Each app registers its job handlers in its own ``jobs.py``.
        autodiscover_modules("jobs")
        metrics.register(JobsCollector())
