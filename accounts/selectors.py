"""Reads of accounts: memberships, companies, teams and members, the audit log.

Every read is scoped to a company (or to the signed-in user).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from auditlog.registry import auditlog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, F, QuerySet
from django.utils import timezone

from accounts.models import Company, Membership, Team
from chatbot_site.lib.audit import audit_entries_for_company

# encode_cursor/decode_cursor re-exported: bench/console.py imports them from here.
from chatbot_site.lib.pagination import decode_cursor, encode_cursor, keyset_page  # noqa: F401
from chatbot_site.lib.tenancy import get_for_company_or_404


def membership_list_for_user(*, user: AbstractBaseUser) -> QuerySet[Membership]:
    """The user's active memberships: a deactivated one gives no access (issue 12)."""
    return (
        Membership.objects.filter(user=user, deactivated_at__isnull=True)
        .select_related("company")
        .order_by("company__name")
    )


def membership_get(*, user: AbstractBaseUser, company_id: int | None) -> Membership | None:
    """The user's membership in the given company, else their first one, else None."""
    # The user's console language and time zone ride along (LEFT JOIN, no extra
    # query): accounts.preferences reads them from these annotations.
    memberships = membership_list_for_user(user=user).annotate(
        preference_language=F("user__staff_preference__language"),
        preference_timezone=F("user__staff_preference__timezone"),
    )
    if company_id is not None:
        found = memberships.filter(company_id=company_id).first()
        if found is not None:
            return found
    return memberships.first()


def team_list(*, company: Company) -> QuerySet[Team]:
    return Team.objects.filter(company=company).select_related("group")


def company_get_by_slug(*, slug: str) -> Company | None:
    return Company.objects.filter(slug=slug).first()


# --- teams, audit (console) ---------------------------------


def team_get(*, company: Company, team_id: int) -> Team:
    """One team of this company; another company's team is a 404 like a missing one."""
    return get_for_company_or_404(
        Team.objects.select_related("group"), company_id=company.pk, pk=team_id
    )


def team_list_with_counts(*, company: Company) -> QuerySet[Team]:
    return team_list(company=company).annotate(member_count=Count("group__user", distinct=True))


def team_members(*, team: Team) -> QuerySet:
    """The team's users who are members of its company (others never count)."""
    return (
        get_user_model()
        .objects.filter(
            groups=team.group_id,
            memberships__company_id=team.company_id,
            memberships__deactivated_at__isnull=True,
        )
        .order_by("username")
    )


def company_members(*, company: Company, include_deactivated: bool = False) -> QuerySet[Membership]:
    """The company's active members (the audit filter also lists deactivated ones)."""
    members = Membership.objects.filter(company=company)
    if not include_deactivated:
        members = members.filter(deactivated_at__isnull=True)
    return members.select_related("user").order_by("user__username")


def company_member_user(*, company: Company, user_id: int):
    """A user who is a member of this company, else None."""
    membership = company_members(company=company).filter(user_id=user_id).first()
    return membership.user if membership else None


@dataclass(frozen=True)
class AuditFilters:
    actor_id: int | None = None
    action: int | None = None
    content_type_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True)
class AuditPage:
    entries: list
    next_cursor: str | None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_entries(*, company: Company, filters: AuditFilters) -> QuerySet:
    """The company's audit entries, newest first, filtered.

    Index auditlog_company_time ((additional_data -> 'company_id'), timestamp DESC)
    on PostgreSQL: the company filter and the order come from it.
    """
    qs = audit_entries_for_company(company.pk).select_related("actor", "content_type")
    if filters.actor_id:
        qs = qs.filter(actor_id=filters.actor_id)
    if filters.action is not None:
        qs = qs.filter(action=filters.action)
    if filters.content_type_id:
        qs = qs.filter(content_type_id=filters.content_type_id)
    if filters.date_from:
        qs = qs.filter(timestamp__gte=_day_start(filters.date_from))
    if filters.date_to:
        qs = qs.filter(timestamp__lt=_day_start(filters.date_to + timedelta(days=1)))
    return qs.order_by("-timestamp", "-id")


def audit_page(
    *, company: Company, filters: AuditFilters, cursor: str | None, page_size: int = 50
) -> AuditPage:
    """One page of the audit log, keyset-paginated on (timestamp, id): no OFFSET."""
    page = keyset_page(
        audit_entries(company=company, filters=filters),
        field="timestamp",
        cursor=cursor,
        page_size=page_size,
    )
    return AuditPage(entries=page.rows, next_cursor=page.next_cursor)


def audit_content_types(*, company: Company) -> list:
    """The object types that can appear on the audit page (registered models)."""
    by_model = ContentType.objects.get_for_models(*auditlog.get_models())
    return sorted(by_model.values(), key=lambda ct: str(ct.model_class()._meta.verbose_name))
