from django.contrib import admin

from catalog.admin import ReadOnlyAdmin

from .models import Determination


@admin.register(Determination)
class DeterminationAdmin(ReadOnlyAdmin):
    """Read-only: determinations are recorded, changed and revoked through
    licenses.assessment.determine / revoke_determination (the review queue and the model's
    license page), which re-assess the model and write the audit log. An admin edit would do
    neither."""

    list_display = ["model", "license_key", "active", "decided_by", "decided_at"]
    list_filter = ["active"]
    search_fields = ["model__repo_id", "license_key"]
    list_select_related = ["model", "decided_by"]
    raw_id_fields = ["model"]
