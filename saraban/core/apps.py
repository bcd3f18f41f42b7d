from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "saraban.core"
    label = "core"
    verbose_name = "แกนระบบ"
