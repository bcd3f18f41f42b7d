from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "saraban.evidence"
    verbose_name = "หนังสือรับรองและใบอนุญาตอิเล็กทรอนิกส์"
