from django.contrib import admin

from .models import (
    CrawlRun,
    HubBudget,
    HubModel,
    LineageEdge,
    ModelFile,
    QuarantinedRecord,
    RepoAlias,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that change only through their domain functions (which check roles and
    write the audit log); the admin shows them and nothing more."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ParentEdgeInline(admin.TabularInline):
    model = LineageEdge
    fk_name = "child"
    extra = 0
    fields = ["parent_repo_id", "relation", "relation_source", "origin"]


@admin.register(HubModel)
class HubModelAdmin(admin.ModelAdmin):
    list_display = [
        "repo_id",
        "author",
        "downloads",
        "likes",
        "gated",
        "library_name",
        "updated_at",
    ]
    list_filter = ["gated", "library_name"]
    search_fields = ["repo_id"]
    show_full_result_count = False
    readonly_fields = ["first_seen_at", "updated_at", "details_at"]
    inlines = [ParentEdgeInline]


@admin.register(LineageEdge)
class LineageEdgeAdmin(admin.ModelAdmin):
    list_display = ["child", "relation", "parent_repo_id", "relation_source", "origin"]
    list_filter = ["relation", "relation_source"]
    search_fields = ["parent_repo_id", "child__repo_id"]
    raw_id_fields = ["child"]
    show_full_result_count = False


@admin.register(RepoAlias)
class RepoAliasAdmin(admin.ModelAdmin):
    list_display = ["alias", "model", "seen_at"]
    search_fields = ["alias"]
    raw_id_fields = ["model"]


@admin.register(ModelFile)
class ModelFileAdmin(admin.ModelAdmin):
    list_display = ["model", "path", "revision", "fetched_at"]
    search_fields = ["model__repo_id", "path"]
    raw_id_fields = ["model"]


@admin.register(CrawlRun)
class CrawlRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "kind", "target", "status", "phase", "listed", "created", "updated",
                    "details_fetched", "not_found", "error_count", "parent", "created_at"]  # fmt: skip
    list_filter = ["kind", "status"]
    raw_id_fields = ["parent"]

    def has_add_permission(self, request):
        return False  # started at /crawls/ (catalog.add_crawlrun), which queues the run


@admin.register(QuarantinedRecord)
class QuarantinedRecordAdmin(ReadOnlyAdmin):
    """Set aside by the crawler, resolved by a later crawl: nothing to edit by hand."""

    list_display = ["repo_id", "step", "path", "run", "attempts", "last_seen_at", "resolved_at"]
    list_filter = ["step", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["repo_id", "error"]
    readonly_fields = [f.name for f in QuarantinedRecord._meta.fields]
    show_full_result_count = False


@admin.register(HubBudget)
class HubBudgetAdmin(admin.ModelAdmin):
    list_display = ["bucket", "used", "window_end", "quota", "window"]
