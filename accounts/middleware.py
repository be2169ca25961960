from django.utils.functional import SimpleLazyObject

from accounts.selectors import membership_get

SESSION_KEY = "hafen_company_id"


class CurrentCompanyMiddleware:
    """Sets request.membership and request.company (lazily) for signed-in staff.

    The company comes from the session's choice (the company switcher) and falls
    back to the user's first membership. Anonymous users get None for both.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        def _membership():
            user = getattr(request, "user", None)
            if user is None or not user.is_authenticated:
                return None
            return membership_get(user=user, company_id=request.session.get(SESSION_KEY))

        cache: dict = {}

        def _cached():
            if "m" not in cache:
                cache["m"] = _membership()
            return cache["m"]

        request.get_membership = _cached
        request.company = SimpleLazyObject(lambda: _cached().company if _cached() else None)
        return self.get_response(request)


class SessionSecurityMiddleware:
    """Idle timeout and absolute lifetime of staff sessions (issue 12: to be filled)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)


class TwoFactorRequiredMiddleware:
    """Sends staff without 2FA to set-up where the company requires it (issue 12: to be filled)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
