from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from accounts.models import Company, Membership, Team


def membership_list_for_user(*, user: AbstractBaseUser) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("company").order_by("company__name")


def membership_get(*, user: AbstractBaseUser, company_id: int | None) -> Membership | None:
    """The user's membership in the given company, else their first one, else None."""
    memberships = membership_list_for_user(user=user)
    if company_id is not None:
        found = memberships.filter(company_id=company_id).first()
        if found is not None:
            return found
    return memberships.first()


def team_list(*, company: Company) -> QuerySet[Team]:
    return Team.objects.filter(company=company).select_related("group")


def company_get_by_slug(*, slug: str) -> Company | None:
    return Company.objects.filter(slug=slug).first()
