from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        from django.core import checks

        from catalog import actions as model_actions
        from usage import evaluate

        from . import actions, notify, profiles, receivers  # noqa: F401  (receivers: the login audit)

        model_actions.provide(actions.for_model)  # the model page's approval actions
        evaluate.stands_over(profiles.standing_ids)  # waivers and approvals over the terms
        checks.register(notify.check_webhook, checks.Tags.security)
