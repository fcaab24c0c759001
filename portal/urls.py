from django.urls import path

from . import exports, views

app_name = "portal"
urlpatterns = [
    path("dashboard/", views.home, name="home"),
    path("models/", views.model_list, name="model_list"),
    path("models/export.csv", exports.models_csv, name="models_csv"),
    path("models/<path:repo_id>/", views.model_detail, name="model_detail"),
    path("lineage/<path:repo_id>/", views.model_lineage, name="model_lineage"),
    path("families/<path:repo_id>/", views.family_detail, name="family_detail"),
    path("datasets/<path:repo_id>/", views.dataset_detail, name="dataset_detail"),
]
