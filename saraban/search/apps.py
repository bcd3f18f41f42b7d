from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "saraban.search"
    verbose_name = "การค้นหา"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the "index this letter again" marks)
