from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "saraban.agencies"
    label = "agencies"
    verbose_name = "ส่วนราชการและบุคลากร"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from .security import session_signed_in

        # Every way of signing in (the web form, the admin, the test client) records its
        # session at once, so the account page lists it and the first page costs no more.
        user_logged_in.connect(session_signed_in, dispatch_uid="saraban_session_signed_in")
