"""What usage tells the apps above it (they subscribe; usage never imports them)."""

from django.dispatch import Signal

# Sent after an evaluation wrote verdicts, with `profile_id` and `model_ids` whose verdict for
# that profile changed: approvals re-review what was decided for the profile on them.
verdicts_changed = Signal()
