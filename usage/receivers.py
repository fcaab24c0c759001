"""What usage hears from below: an assessment wrote these models' license results."""

from django.dispatch import receiver

from licenses.signals import assessed

from . import evaluate, tasks


@receiver(assessed, dispatch_uid="canopy-usage-on-assessment")
def on_assessed(sender, *, model_ids, changed, inline=False, **kwargs) -> None:
    # A first assessment may leave the result as it was (nothing stored for it yet): every
    # assessed model is evaluated; unchanged verdicts write nothing.
    ids = sorted(set(model_ids) | set(changed))
    if not ids:
        return
    if inline:
        evaluate.evaluate_models(ids)
    else:
        tasks.evaluate_models.delay_on_commit(ids)
