from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse


class LogoutView(auth_views.LogoutView):
    """Django's logout (POST only), which tells the login page it lands on that it worked.

    The message outlives the session that logout() ends: it is stored with the response, after
    the logout, in the new session or the messages cookie.
    """

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.success(request, "You have logged out.")
        return response
