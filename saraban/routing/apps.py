from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "saraban.routing"
    label = "routing"
    verbose_name = "การเกษียนและติดตามหนังสือ"
