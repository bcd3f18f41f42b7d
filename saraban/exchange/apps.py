from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "saraban.exchange"
    label = "exchange"
    verbose_name = "รับส่งหนังสือระหว่างหน่วยงาน"
