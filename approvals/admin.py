from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied

from catalog.admin import ReadOnlyAdmin

from . import audit, roles
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
    """Tokens are issued by `manage.py create_token` (the secret is shown once). Here their
    user and secret are read-only, scopes may change within the user's role, an expiry only
    moves earlier, and revocation is final; ApiToken.save checks all of it and audits it."""

    list_display = ["name", "user", "prefix", "scopes", "created_at", "expires_at", "revoked_at"]
    fields = ["user", "name", "scopes", "profile", "prefix", "digest", "created_at",
              "expires_at", "revoked_at"]  # fmt: skip
    FIXED = ["user", "prefix", "digest", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.revoked_at is not None:
            return self.fields  # nothing of a revoked token changes
        return self.FIXED

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the log refers to the token

    def save_model(self, request, obj, form, change):
        obj.save(actor=request.user)


# --- users and roles: least privilege for non-superusers (approvals.roles) ------------------

admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class RoleUserAdmin(UserAdmin):
    """A superuser sees Django's user admin. Anyone else (the admin role): no superuser, staff
    or per-user permission fields; only the roles they hold themselves to give or take; only
    accounts no stronger than their own to change; and no one else's password."""

    LIMITED = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Roles", {"fields": ("is_active", "groups", "is_staff", "is_superuser")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )

    def get_fieldsets(self, request, obj=None):
        if request.user.is_superuser or obj is None:
            return super().get_fieldsets(request, obj)
        return self.LIMITED

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return ["is_staff", "is_superuser", "last_login", "date_joined"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups" and not request.user.is_superuser:
            kwargs["queryset"] = Group.objects.filter(pk__in=grantable(request.user))
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or roles.may_administer(request.user, obj))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or roles.may_administer(request.user, obj))

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            if not change:  # a new account starts with no admin access
                obj.is_staff = obj.is_superuser = False
            # The roles the actor cannot give, they cannot take away either: kept as they are.
            kept = obj.groups.exclude(pk__in=grantable(request.user)) if change else []
            obj._kept_groups = list(kept)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        kept = getattr(form.instance, "_kept_groups", [])
        if kept:
            form.instance.groups.add(*kept)

    def user_change_password(self, request, id, form_url=""):
        if not request.user.is_superuser and str(request.user.pk) != str(id):
            raise PermissionDenied("only a superuser sets another user's password")
        return super().user_change_password(request, id, form_url)


def grantable(actor) -> list[int]:
    return [
        g.pk for g in Group.objects.prefetch_related("permissions") if roles.may_grant(actor, g)
    ]


@admin.register(Group)
class RoleGroupAdmin(GroupAdmin):
    """The roles are defined by migration (approvals.roles); only a superuser changes one."""

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
