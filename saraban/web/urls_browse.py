"""Routes for signing in and browsing: dashboard, registers, printouts, the letter page, files."""

from django.urls import path

from .views import auth, browse, files

urlpatterns = [
    path("", browse.dashboard, name="dashboard"),
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("registers/", browse.registers, name="registers"),
    path("registers/<int:registry_id>/<str:kind>/", browse.register_list, name="register_list"),
    path(
        "registers/<int:registry_id>/<str:kind>/print/",
        browse.register_print,
        name="register_print",
    ),
    path("letters/<int:letter_id>/", browse.letter_detail, name="letter_detail"),
    path(
        "letters/<int:letter_id>/files/<int:file_id>/", files.letter_file, name="letter_file"
    ),
    path(
        "letters/<int:letter_id>/stamped/<int:entry_id>/",
        files.letter_stamped,
        name="letter_stamped",
    ),
]
