"""Routes of the sign-in second step and the account pages (password, two-factor, sessions)."""

from django.urls import path

from .views import auth

urlpatterns = [
    path("login/otp/", auth.login_otp_view, name="login_otp"),
    path("account/security/", auth.account_security_view, name="account_security"),
    path("account/password/", auth.password_change_view, name="password_change"),
    path("account/two-factor/", auth.two_factor_view, name="two_factor"),
    path("account/sessions/<int:session_id>/revoke/", auth.session_revoke_view,
         name="session_revoke"),
    path("account/tokens/<int:token_id>/revoke/", auth.token_revoke_view, name="token_revoke"),
]
