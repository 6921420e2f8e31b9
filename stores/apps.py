from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class StoresConfig(AppConfig):
    name = "stores"
    verbose_name = "Stores"

    def ready(self) -> None:
        # The API key's cached row (stores.key_cache) goes stale once a change of the
        # key, its store or outlet commits: every save and delete, whoever makes it
        # (services, the admin, a shell), not a domain flow.
        from stores import key_cache
        from stores.models import ApiKey, Outlet, Store

        for model in (ApiKey, Store, Outlet):
            for signal in (post_save, post_delete):
                signal.connect(
                    key_cache.changed, sender=model, dispatch_uid=f"key_cache.{model}"
                )
