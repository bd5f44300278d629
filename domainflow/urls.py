from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from findings.forms import AdminLoginForm, LoginForm
from findings.views import accounts

admin.site.site_header = "DomainFlow Finding Tracker administration"
admin.site.site_title = "DomainFlow Finding Tracker"
admin.site.login_form = AdminLoginForm

handler403 = "findings.views.errors.permission_denied"
handler500 = "findings.views.errors.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=LoginForm),
        name="login",
    ),
    # Django's password-reset views are left out: they mail a link, and no mail is configured;
    # they would be an open, unthrottled form. Add them with mail and throttling.
    path("accounts/logout/", accounts.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("", include("findings.urls")),
]
