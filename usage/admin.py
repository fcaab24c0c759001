"""Profiles are edited through approvals.profiles.save_profile (checked, audited, re-evaluated):
here they are read-only; the API (PUT /api/v1/profiles/<slug>) edits them."""

from django.contrib import admin

from catalog.admin import ReadOnlyAdmin

from .models import UsageProfile


@admin.register(UsageProfile)
class UsageProfileAdmin(ReadOnlyAdmin):
    list_display = ["slug", "name", "mau", "revenue_usd", "example", "updated_at"]

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("usage.edit_profiles")  # legal and admin

    def has_module_permission(self, request):
        return self.has_view_permission(request)
