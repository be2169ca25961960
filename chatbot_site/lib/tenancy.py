"""Tenant scoping helpers: an object of another company is a 404, like a missing one."""

from typing import TypeVar

from django.db import models
from django.http import Http404

M = TypeVar("M", bound=models.Model)


def get_for_company_or_404(queryset: "models.QuerySet[M]", *, company_id: int, **lookup) -> M:
    """Fetch one object of this company; "not yours" and "does not exist" look alike."""
    try:
        return queryset.get(company_id=company_id, **lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404("No such object.") from None
