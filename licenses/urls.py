from django.urls import path

from . import views

app_name = "licenses"
urlpatterns = [
    path("", views.license_list, name="license_list"),
    path("review/", views.review_queue, name="review_queue"),
    path("models/<path:repo_id>/", views.model_license, name="model_license"),
    path("<str:key>/", views.license_detail, name="license_detail"),
]
