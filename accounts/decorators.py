from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import translation

from accounts.models import Membership
from accounts.preferences import console_language


def membership_required(roles: Iterable[str] | None = None) -> Callable:
    """Staff views: signed in, a member of the current company, and one of `roles`.

    Sets request.membership. Anonymous users go to the login page; users without
    the role get a 404, as if the page did not exist for them.
    """
    allowed = set(roles) if roles is not None else None

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = request.get_membership()
            if membership is None or (allowed is not None and membership.role not in allowed):
                raise Http404("No such page.")
            request.membership = membership
            # As StaffLocaleMiddleware does on /console/: the person's language,
            # else their cookie's, else the company's (accounts.preferences).
            language = console_language(membership=membership, request=request)
            translation.activate(language)
            request.LANGUAGE_CODE = language
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


admin_required = membership_required(roles=[Membership.Role.ADMIN])
