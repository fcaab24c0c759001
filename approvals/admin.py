from django.contrib import admin

from catalog.admin import ReadOnlyAdmin

from . import audit
from .models import ApiToken, ApprovalRequest, AuditEvent, Policy, Waiver


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "order", "action", "enforced", "uses", "verdicts", "updated_at"]
    list_editable = ["order", "enforced"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record(actor=request.user, action="policy.changed" if change else "policy.created",
                     obj=obj, detail={"fields": form.changed_data,
                                      "enforced": obj.enforced, "action": obj.action})  # fmt: skip

    def delete_model(self, request, obj):
        audit.record(
            actor=request.user, action="policy.deleted", obj=obj, detail={"name": obj.name}
        )
        super().delete_model(request, obj)


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    """Decisions go through the workflow (review.decide), which checks roles and writes the log."""

    list_display = ["pk", "model", "intended_use", "status", "requested_by", "expires_at"]
    list_filter = ["status", "intended_use"]
    raw_id_fields = ["model"]


@admin.register(Waiver)
class WaiverAdmin(ReadOnlyAdmin):
    list_display = ["pk", "model", "reason", "granted_by", "expires_at", "revoked"]
    raw_id_fields = ["model"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: the audit log is append-only everywhere."""

    list_display = ["at", "actor_label", "action", "object_type", "object_id", "repo_id"]
    list_filter = ["action"]
    search_fields = ["repo_id", "actor_label"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "scopes", "created_at", "revoked_at"]
    readonly_fields = ["prefix", "digest", "created_at"]
    fields = ["user", "name", "scopes", "prefix", "digest", "created_at", "revoked_at"]

    def has_add_permission(self, request):
        return False  # tokens are issued by `manage.py create_token`, which shows the secret once
