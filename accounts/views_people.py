"""People (admins): members, roles, teams, deactivation, 2FA reset, invitations;
and the invitation link a new colleague follows.

Views orchestrate only: the services in accounts.people and accounts.invitations
check the rules (last admin, one-time links) and write the audit entries.
"""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import invitations, people, people_selectors
from accounts.decorators import admin_required
from accounts.middleware import SESSION_KEY
from accounts.people_forms import InvitationSignupForm, InviteForm, RoleForm, TeamsForm
from accounts.signin import signin_complete
from chatbot_site.lib.errors import ServiceError, form_add_error

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


def _flash_sent(request: HttpRequest, sent: invitations.SentInvitation, *, text: str) -> None:
    """The link is shown to the inviting admin once, so the demo works without a mail server."""
    messages.success(
        request,
        format_html('{} <a href="{}" class="invite-link">{}</a>', text, sent.link, sent.link),
    )
    if not sent.mailed:
        messages.error(
            request, _("The e-mail could not be sent; pass the link on yourself or resend later.")
        )


# --- the People page --------------------------------------------------------


def _people_page(request: HttpRequest, *, invite_form: InviteForm | None = None, status: int = 200):
    company = request.membership.company
    return render(
        request,
        "accounts/people.html",
        {
            "people": people_selectors.people_list(company=company),
            "invitations": list(people_selectors.invitations_pending(company=company)),
            "invite_form": invite_form or InviteForm(company=company),
            "now": timezone.now(),
        },
        status=status,
    )


@admin_required
@never_cache
def people_list(request: HttpRequest) -> HttpResponse:
    """GET: members and pending invitations. POST: invite a person."""
    company = request.membership.company
    if request.method != "POST":
        return _people_page(request)
    form = InviteForm(request.POST, company=company)
    if not form.is_valid():
        return _people_page(request, invite_form=form, status=400)
    try:
        sent = invitations.invitation_create(
            company=company,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            teams=list(form.cleaned_data["teams"]),
            actor=request.user,
            base_url=_base_url(request),
        )
    except invitations.InvitationError as exc:
        form_add_error(form, exc)
        return _people_page(request, invite_form=form, status=400)
    _flash_sent(
        request,
        sent,
        text=_("Invitation sent to %(email)s. Its link, shown only now:")
        % {"email": sent.invitation.email},
    )
    return redirect("accounts:people")


@admin_required
@require_POST
def invitation_resend(request: HttpRequest, invitation_id: int) -> HttpResponse:
    company = request.membership.company
    invitation = people_selectors.invitation_get(company=company, invitation_id=invitation_id)
    try:
        sent = invitations.invitation_resend(
            invitation=invitation, actor=request.user, base_url=_base_url(request)
        )
    except invitations.InvitationError as exc:
        messages.error(request, exc.message)
        return redirect("accounts:people")
    _flash_sent(
        request,
        sent,
        text=_("Invitation sent again to %(email)s; the earlier link no longer works. New link:")
        % {"email": sent.invitation.email},
    )
    return redirect("accounts:people")


@admin_required
@require_POST
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    company = request.membership.company
    invitation = people_selectors.invitation_get(company=company, invitation_id=invitation_id)
    try:
        invitations.invitation_revoke(invitation=invitation, actor=request.user)
    except invitations.InvitationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Invitation revoked; its link no longer works."))
    return redirect("accounts:people")


# --- one member -------------------------------------------------------------


def _member_page(
    request: HttpRequest,
    membership,
    *,
    role_form: RoleForm | None = None,
    teams_form: TeamsForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    company = request.membership.company
    row = people_selectors.person_row(membership=membership)
    return render(
        request,
        "accounts/people_member.html",
        {
            "row": row,
            "member": membership,
            "is_self": membership.user_id == request.user.pk,
            "role_form": role_form or RoleForm(initial={"role": membership.role}),
            "teams_form": teams_form
            or TeamsForm(company=company, initial={"teams": [t.pk for t in row.teams]}),
            "error": error,
        },
        status=status,
    )


@admin_required
@never_cache
def member_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    membership = people_selectors.member_get(company=request.membership.company, user_id=user_id)
    return _member_page(request, membership)


def _member_action(request: HttpRequest, user_id: int, action, *, done: str) -> HttpResponse:
    membership = people_selectors.member_get(company=request.membership.company, user_id=user_id)
    try:
        action(membership)
    except ServiceError as exc:
        return _member_page(request, membership, error=exc.message, status=exc.status)
    messages.success(request, done)
    if membership.user_id == request.user.pk:  # they may no longer see the People page
        return redirect("accounts:home")
    return redirect("accounts:people_member", user_id=user_id)


@admin_required
@require_POST
def member_role(request: HttpRequest, user_id: int) -> HttpResponse:
    membership = people_selectors.member_get(company=request.membership.company, user_id=user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _member_page(request, membership, role_form=form, status=400)
    try:
        people.member_role_change(
            membership=membership, role=form.cleaned_data["role"], actor=request.user
        )
    except ServiceError as exc:
        form_add_error(form, exc, field="role")
        return _member_page(request, membership, role_form=form, status=exc.status)
    messages.success(request, _("Role changed."))
    if membership.user_id == request.user.pk and form.cleaned_data["role"] != "admin":
        return redirect("accounts:home")
    return redirect("accounts:people_member", user_id=user_id)


@admin_required
@require_POST
def member_teams(request: HttpRequest, user_id: int) -> HttpResponse:
    company = request.membership.company
    membership = people_selectors.member_get(company=company, user_id=user_id)
    form = TeamsForm(request.POST, company=company)
    if not form.is_valid():
        return _member_page(request, membership, teams_form=form, status=400)
    try:
        people.member_teams_set(
            membership=membership, teams=list(form.cleaned_data["teams"]), actor=request.user
        )
    except ServiceError as exc:
        form_add_error(form, exc, field="teams")
        return _member_page(request, membership, teams_form=form, status=exc.status)
    messages.success(request, _("Teams changed."))
    return redirect("accounts:people_member", user_id=user_id)


@admin_required
@require_POST
def member_deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    return _member_action(
        request,
        user_id,
        lambda m: people.member_deactivate(membership=m, actor=request.user),
        done=_("Deactivated: their access has ended. Everything they wrote stays."),
    )


@admin_required
@require_POST
def member_reactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    return _member_action(
        request,
        user_id,
        lambda m: people.member_reactivate(membership=m, actor=request.user),
        done=_("Reactivated."),
    )


@admin_required
@require_POST
def member_2fa_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    return _member_action(
        request,
        user_id,
        lambda m: people.member_2fa_reset(membership=m, actor=request.user),
        done=_("Two-factor sign-in reset; they set it up again when they next sign in."),
    )


# --- the invitation link ----------------------------------------------------


def _gone(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return render(
        request, "accounts/invitation_invalid.html", {"message": exc.message}, status=exc.status
    )


@never_cache
def invitation_accept(request: HttpRequest, secret: str) -> HttpResponse:
    """Shows what the link offers; POST accepts it (new account, or the signed-in one)."""
    invitation = people_selectors.invitation_by_secret(secret=secret)
    refusal = invitations.invitation_refusal(invitation)
    if refusal is not None:
        return _gone(request, refusal)
    if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
        # The invited person reads the page in the company's language, as its console.
        translation.activate(invitation.company.language)
        request.LANGUAGE_CODE = invitation.company.language
    signed_in = request.user.is_authenticated
    has_account = (
        not signed_in and people_selectors.users_with_email(email=invitation.email).exists()
    )
    form = None
    if not signed_in and not has_account:
        form = InvitationSignupForm(request.POST or None, email=invitation.email)
    error = ""
    if request.method == "POST" and not has_account:
        try:
            if signed_in:
                membership = invitations.invitation_accept_existing(
                    invitation=invitation, user=request.user
                )
                user = request.user
            elif form.is_valid():
                user, membership = invitations.invitation_accept_new(
                    invitation=invitation,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["new_password1"],
                )
                # H2's sign-in completion: session clocks, StaffSession row (so a
                # later deactivation ends this session too), audit entry.
                user.backend = MODEL_BACKEND
                signin_complete(request, user, username=user.get_username())
            else:
                membership = None
        except invitations.InvitationGone as exc:
            return _gone(request, exc)
        except invitations.InvitationError as exc:
            if form is not None and exc.field:
                form_add_error(form, exc)
            else:
                error = exc.message
            membership = None
        if membership is not None:
            request.session[SESSION_KEY] = membership.company_id
            messages.success(
                request,
                _("Welcome to %(company)s, %(user)s.")
                % {"company": membership.company.name, "user": user.get_username()},
            )
            return redirect("accounts:home")
    return render(
        request,
        "accounts/invitation.html",
        {
            "invitation": invitation,
            "company": invitation.company,
            "teams": list(invitation.teams.all()),
            "signed_in": signed_in,
            "has_account": has_account,
            "form": form,
            "error": error,
            "login_next": request.get_full_path(),
        },
        status=400 if request.method == "POST" else 200,
    )
