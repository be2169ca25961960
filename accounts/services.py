"""Everything that writes accounts: companies, memberships, teams."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction

from accounts.models import Company, Membership, Team


@transaction.atomic
def company_create(
    *,
    slug: str,
    name: str,
    country: str = "DE",
    language: str = "de",
    data_location: str = "EU (Germany)",
    privacy_contact: str = "",
) -> Company:
    return Company.objects.create(
        slug=slug,
        name=name,
        country=country,
        language=language,
        data_location=data_location,
        privacy_contact=privacy_contact,
    )


@transaction.atomic
def membership_set(*, user: AbstractBaseUser, company: Company, role: str) -> Membership:
    membership, _created = Membership.objects.update_or_create(
        user=user, company=company, defaults={"role": role}
    )
    return membership


@transaction.atomic
def team_create(*, company: Company, name: str) -> Team:
    # Group names are global; prefix with the company id so two companies may
    # both have a team called "Support".
    group = Group.objects.create(name=f"c{company.pk}:{name}")
    return Team.objects.create(company=company, name=name, group=group)


def team_member_add(*, team: Team, user: AbstractBaseUser) -> None:
    team.group.user_set.add(user)


def team_member_remove(*, team: Team, user: AbstractBaseUser) -> None:
    team.group.user_set.remove(user)


def user_create(*, username: str, password: str, email: str = "", **extra) -> AbstractBaseUser:
    return get_user_model().objects.create_user(
        username=username, password=password, email=email, **extra
    )
