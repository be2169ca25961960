"""Company admins: the rights matrix (teams × inboxes × rights) and deleting a team.

Both keep their ``accounts:`` URL names (``accounts:rights``,
``accounts:team_delete``); they live here because they write inbox rights.
Views parse and render; conversations.services.rights checks and writes.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors as accounts_selectors
from accounts.decorators import admin_required
from accounts.services import TeamError
from conversations.rights import RIGHT_HELP, RIGHT_LABELS, RIGHTS, rights_matrix
from conversations.services import rights as rights_services


@admin_required
def rights_matrix_view(request: HttpRequest) -> HttpResponse:
    """Teams × inboxes × the four rights; one POST saves the whole matrix."""
    company = request.membership.company
    matrix = rights_matrix(company=company)
    status = 200
    if request.method == "POST":
        grants = set()
        for team in matrix.teams:
            for inbox in matrix.inboxes:
                for right in RIGHTS:
                    if request.POST.get(f"r-{team.pk}-{inbox.pk}-{right}"):
                        grants.add((team.pk, inbox.pk, right))
        try:
            change = rights_services.rights_set(company=company, grants=grants, actor=request.user)
        except TeamError as exc:
            messages.error(request, str(exc))
            status = 400
        else:
            messages.success(
                request,
                _("Rights saved: %(granted)d granted, %(revoked)d revoked.")
                % {"granted": change.granted, "revoked": change.revoked},
            )
            return redirect("accounts:rights")
    return render(
        request,
        "accounts/rights_matrix.html",
        {
            "matrix": matrix,
            "rows": matrix.rows(),
            "rights": [(r, RIGHT_LABELS[r], RIGHT_HELP[r]) for r in RIGHTS],
        },
        status=status,
    )


@admin_required
@require_POST
def team_delete_view(request: HttpRequest, team_id: int) -> HttpResponse:
    """Delete a team; its rights are revoked first, each revoke audited."""
    team = accounts_selectors.team_get(company=request.membership.company, team_id=team_id)
    name = team.name
    rights_services.team_delete(team=team, actor=request.user)
    messages.success(request, _("Team “%(name)s” deleted.") % {"name": name})
    return redirect("accounts:team_list")
