from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class StoresConfig(AppConfig):
    name = "stores"
    verbose_name = "Stores"

    def ready(self) -> None:
        # Cache invalidation, not domain flow: a key, store or outlet saved in this
        # process empties its API key cache at once, before the commit's
        # notification reaches every process (see stores.keycache).
        from stores.keycache import keys

        def clear(**kwargs) -> None:
            keys.clear()

        for name in ("ApiKey", "Store", "Outlet"):
            model = self.get_model(name)
            uid = f"stores.keycache.{name}"
            post_save.connect(clear, sender=model, weak=False, dispatch_uid=uid)
            post_delete.connect(clear, sender=model, weak=False, dispatch_uid=uid)
