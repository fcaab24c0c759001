from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "approvals"

urlpatterns = [
    path("", views.request_list, name="request_list"),
    path("new/", views.request_new, name="request_new"),
    path("new/suggestions/", views.request_suggestions, name="request_suggestions"),
    path("<int:pk>/", views.request_detail, name="request_detail"),
    path("<int:pk>/reopen/", views.request_reopen, name="request_reopen"),
    path("export.csv", views.export_approvals, name="export_approvals"),
    path("waivers/", views.waiver_list, name="waiver_list"),
    path("policies/", views.policy_list, name="policy_list"),
    path("profiles/", views.profile_list, name="profile_list"),
    path("profiles/new/", views.profile_edit, name="profile_new"),
    path("profiles/<slug:slug>/edit/", views.profile_edit, name="profile_edit"),
    path("policies/<int:pk>/dry-run/", views.policy_dry_run, name="policy_dry_run"),
    path("audit/", views.audit_log, name="audit_log"),
    path("bom.json", views.export_bom, name="export_bom"),
    path("notice/<path:repo_id>/", views.notice, name="notice"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="approvals/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
