from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("crawls/", views.crawl_list, name="crawl_list"),
    path("crawls/<int:pk>/", views.crawl_detail, name="crawl_detail"),
]
