from django.apps import AppConfig


class SignaturesConfig(AppConfig):
    name = "saraban.signatures"
    verbose_name = "ลายมือชื่ออิเล็กทรอนิกส์"
