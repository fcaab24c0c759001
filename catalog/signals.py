"""What the catalog tells the apps above it (it never imports them; they subscribe)."""

from django.dispatch import Signal

# Sent by the crawler with `model_ids` (HubModel pks whose record or evidence files were
# written) and `inline`: True when the sender returns only once the consequences are done
# (`crawl --sync`, run_sync), so a receiver does its work now instead of queueing it.
models_changed = Signal()
