"""What licenses tell the apps above them (they never import them; they subscribe)."""

from django.dispatch import Signal

# Sent (inside the writing transaction) with `model_ids` whose license state was written: the
# read side brings their search entries up to date.
states_written = Signal()

# Sent after each level of an assessment with `model_ids` (assessed) and `changed` (whose
# result changed): approvals re-review what was decided on them, and on their descendants
# unless `through_ancestors=False` (a determination: its fan-out re-assesses those). `inline`:
# sent by `crawl --sync`, where no worker runs what a receiver would queue.
assessed = Signal()

# Sent inside the transaction of a manual determination or its revocation, with `by`,
# `action` ("determination.created", ".changed", ".revoked"), `determination`, `model` and
# `detail`: the audit log records it, and a failure there undoes the determination.
determination_recorded = Signal()
