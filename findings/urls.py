from django.urls import path

from findings.views import dashboard

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
]
