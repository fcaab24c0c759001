from django.contrib import admin

from .models import Determination


@admin.register(Determination)
class DeterminationAdmin(admin.ModelAdmin):
    """Read-only: determinations are recorded, changed and revoked through
    licenses.assessment.determine / revoke_determination (the review queue and the model's
    license page), which re-assess the model and write the audit log. An admin edit would do
    neither."""

    list_display = ["model", "license_key", "active", "decided_by", "decided_at"]
    list_filter = ["active"]
    search_fields = ["model__repo_id", "license_key"]
    list_select_related = ["model", "decided_by"]
    raw_id_fields = ["model"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
