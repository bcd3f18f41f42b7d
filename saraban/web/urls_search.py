"""Routes of the search page."""

from django.urls import URLPattern, path

from .views import search

urlpatterns: list[URLPattern] = [
    path("search/", search.search_page, name="search"),
]
