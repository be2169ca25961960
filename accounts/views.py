from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.http import require_POST

from accounts.decorators import membership_required
from accounts.forms import CompanySwitchForm
from accounts.middleware import SESSION_KEY


@membership_required()
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/home.html", {"membership": request.membership})


@login_required
@require_POST
def switch_company(request: HttpRequest) -> HttpResponse:
    form = CompanySwitchForm(request.POST, user=request.user)
    if form.is_valid():
        membership = form.cleaned_data["membership"]
        request.session[SESSION_KEY] = membership.company_id
        language = membership.company.language
        translation.activate(language)
    return redirect("accounts:home")
