from django.urls import path

from . import views

app_name = "exchange"
urlpatterns = [
    path("messages", views.messages, name="messages"),
    path("directory", views.directory, name="directory"),
    path("directory/renewal", views.renewal, name="renewal"),
]
