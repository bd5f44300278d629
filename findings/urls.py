from django.urls import path

from findings import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
