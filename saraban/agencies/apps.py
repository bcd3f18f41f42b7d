from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "saraban.agencies"
    label = "agencies"
    verbose_name = "ส่วนราชการและบุคลากร"
