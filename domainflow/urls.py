from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from findings.forms import LoginForm

admin.site.site_header = "DomainFlow Finding Tracker administration"
admin.site.site_title = "DomainFlow Finding Tracker"

handler403 = "findings.views.errors.permission_denied"

urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=LoginForm),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("findings.urls")),
]
