from django.apps import AppConfig


class LicensesConfig(AppConfig):
    name = "licenses"

    def ready(self) -> None:
        from catalog.signals import models_changed

        from .tasks import on_models_changed

        # The crawler tells (catalog never imports licenses); a stable uid connects it once.
        models_changed.connect(on_models_changed, dispatch_uid="licenses.assess_on_crawl")
