from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "saraban.api"
    label = "api"
    verbose_name = "API"
