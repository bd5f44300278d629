from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "DomainFlow Finding Tracker administration"
admin.site.site_title = "DomainFlow Finding Tracker"

handler403 = "findings.views.errors.permission_denied"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("findings.urls")),
]
