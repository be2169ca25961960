from accounts.navigation import nav_for_role
from accounts.selectors import membership_list_for_user


def tenancy(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(request, "get_membership"):
        return {}
    membership = request.get_membership()
    if membership is None:
        return {}
    return {
        "current_membership": membership,
        "current_company": membership.company,
        "all_memberships": lambda: list(membership_list_for_user(user=user)),
        "console_nav": nav_for_role(membership.role),
    }
