"""Operators: search conversations by reference, contact e-mail or words.

The page is a GET form (nothing is written; the query stays in the URL so the
back button and a reload work). Results come from conversations.search, which
returns only conversations the user may see; the query itself is neither
logged nor audited (it may hold personal data).
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from accounts.decorators import membership_required
from conversations.search import MIN_WORD_LENGTH, RESULT_LIMIT, conversation_search

staff_required = membership_required()


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        max_length=200,
        required=False,
        help_text=_("A reference, a contact e-mail address, or words that all occur in it."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )


@staff_required
@require_GET
def conversation_search_view(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    result = None
    status = 200
    if form.is_bound:
        if form.is_valid():
            result = conversation_search(
                membership=request.membership, query=form.cleaned_data["q"]
            )
        else:
            status = 400
    return render(
        request,
        "console/search.html",
        {
            "form": form,
            "result": result,
            "limit": RESULT_LIMIT,
            "min_word_length": MIN_WORD_LENGTH,
        },
        status=status,
    )
