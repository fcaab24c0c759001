"""What the catalog tells the apps above it (it never imports them; they subscribe)."""

from django.dispatch import Signal

# Sent by the crawler with `model_ids` (HubModel pks whose record or evidence files were
# written) and `inline`: True when the sender returns only once the consequences are done
# (`crawl --sync`, run_sync), so a receiver does its work now instead of queueing it.
models_changed = Signal()

# Sent when the derived columns (catalog.families) of `model_ids` were written; or, with
# `model_ids=None` and `since`, when every model written since then was stored without them
# (CANOPY_DERIVE_ON_CRAWL=0). The read side brings its search table up to date.
models_derived = Signal()

# Sent after a pass that wrote many rows: the planner's statistics of the tables that follow
# the catalog (the search table, say) are stale too.
bulk_written = Signal()
