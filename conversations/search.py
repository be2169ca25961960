"""Console search: by reference, by contact e-mail, and by words through a keyed index.

Invariants:
- no word of a message is stored in plaintext: SearchToken holds only
  token = first 32 hex digits of HMAC-SHA256(company search key, word), where
  the company search key is derived_key("hafen-search:<company id>"). The same
  word gives different tokens in different companies;
- what is indexed is the text as stored (after redaction without consent),
  visitor and operator messages only (bot and system messages are the
  company's own texts);
- the tokens of a message are written in the same statement or transaction as
  the message (chat: conversations.services.chat; replies:
  conversations.services.operator), so a message is never stored unindexed;
- when stored text changes (retention strips personal data, a visitor
  withdraws contact details) the conversation's tokens are rebuilt from what is
  stored now (conversations_reindex), so a redacted word is no longer found;
- results are the conversations the membership may see (conversations_visible:
  company AND permitted inboxes), whatever the tokens say.

What the index reveals to someone holding the database but not the key is in
docs/search.md.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count

from accounts.models import Membership
from chatbot_site.lib.crypto import blind_index, derived_key
from conversations.models import Conversation, Message, SearchToken
from conversations.selectors.console import conversations_visible

# Letters and digits of any script; everything else separates words.
WORD_RE = re.compile(r"[^\W_]+")
MIN_WORD_LENGTH = 2
TOKEN_LENGTH = 32  # hex digits kept of the HMAC (128 bits)
MAX_QUERY_WORDS = 8
RESULT_LIMIT = 50
REINDEX_CHUNK = 500
INDEXED_SENDERS = (Message.Sender.VISITOR, Message.Sender.OPERATOR)
REFERENCE_RE = re.compile(r"^[A-HJ-NP-Z2-9]{10}$")


def normalise(text: str) -> str:
    """NFKC and casefold (NFKC again: casefolding can leave a decomposed form)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def words(text: str) -> list[str]:
    """The distinct indexable words of a text, in order of first appearance.

    No stemming and no splitting of compounds: "Rechnung" does not find
    "Rechnungsnummer" (docs/search.md says why).
    """
    seen: dict[str, None] = {}
    for word in WORD_RE.findall(normalise(text or "")):
        if len(word) >= MIN_WORD_LENGTH:
            seen.setdefault(word, None)
    return list(seen)


def company_key(company_id: int) -> bytes:
    return derived_key(f"hafen-search:{company_id}")


def tokens_for(*, company_id: int, text: str) -> list[str]:
    """The keyed tokens of a text's words (what SearchToken stores)."""
    key = company_key(company_id)
    return [
        hmac.new(key, word.encode(), "sha256").hexdigest()[:TOKEN_LENGTH] for word in words(text)
    ]


def tokens_write(*, company_id: int, conversation_id: int, tokens: Iterable[str]) -> None:
    """One INSERT; tokens the conversation already has are skipped (ignore_conflicts)."""
    rows = [
        SearchToken(company_id=company_id, conversation_id=conversation_id, token=token)
        for token in set(tokens)
    ]
    if rows:
        SearchToken.objects.bulk_create(rows, ignore_conflicts=True)


def message_index(*, message: Message) -> None:
    """Index one stored message (call inside the transaction that wrote it)."""
    if message.sender not in INDEXED_SENDERS:
        return
    tokens_write(
        company_id=message.company_id,
        conversation_id=message.conversation_id,
        tokens=tokens_for(company_id=message.company_id, text=message.body),
    )


@transaction.atomic
def conversations_reindex(*, conversation_ids: Iterable[int]) -> int:
    """Rebuild the tokens of these conversations from their stored text; returns
    how many tokens they hold now.

    Called when stored text changed (retention's strip batch, a withdrawal of
    contact details): a word that was redacted is then no longer found.
    """
    ids = sorted(set(conversation_ids))
    if not ids:
        return 0
    SearchToken.objects.filter(conversation_id__in=ids).delete()
    found: dict[tuple[int, int], set[str]] = {}
    last_id = 0
    while True:
        chunk = list(
            Message.objects.filter(conversation_id__in=ids, sender__in=INDEXED_SENDERS)
            .filter(id__gt=last_id)
            .order_by("id")
            .values_list("id", "company_id", "conversation_id", "body")[:REINDEX_CHUNK]
        )
        for _pk, company_id, conversation_id, body in chunk:
            found.setdefault((company_id, conversation_id), set()).update(
                tokens_for(company_id=company_id, text=body)
            )
        if len(chunk) < REINDEX_CHUNK:
            break
        last_id = chunk[-1][0]
    rows = [
        SearchToken(company_id=company_id, conversation_id=conversation_id, token=token)
        for (company_id, conversation_id), tokens in found.items()
        for token in tokens
    ]
    SearchToken.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return len(rows)


def conversation_reindex(*, conversation_id: int) -> int:
    """conversations_reindex for one conversation."""
    return conversations_reindex(conversation_ids=[conversation_id])


# --- query ---------------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    kind: str  # "", "reference", "email" or "words"
    conversations: list[Conversation]
    words: int = 0  # how many words were searched for (kind "words")
    limited: bool = False  # more than RESULT_LIMIT matched


def _looks_like_email(query: str) -> bool:
    try:
        validate_email(query)
    except ValidationError:
        return False
    return True


def conversation_search(
    *, membership: Membership, query: str, limit: int = RESULT_LIMIT
) -> SearchResult:
    """Conversations the membership may see that match `query`, newest activity first.

    - a conversation reference (10 characters, case ignored): that conversation;
    - an e-mail address: the conversations of visitors whose contact e-mail it
      is (Visitor.email_index, the blind index; index visitor_company_email);
    - otherwise words: conversations holding every word (AND), found through
      searchtoken_company_token (company_id, token) and grouped per conversation.
    """
    query = (query or "").strip()
    visible = conversations_visible(membership=membership)
    if not query:
        return SearchResult(kind="", conversations=[])
    if REFERENCE_RE.match(query.upper()):
        found = list(visible.filter(reference=query.upper()).select_related("inbox", "assigned_to"))
        if found:
            return SearchResult(kind="reference", conversations=found)
    if _looks_like_email(query):
        qs = visible.filter(
            visitor__company_id=membership.company_id,
            visitor__email_index=blind_index(query),
        )
        return _result("email", qs, limit=limit)
    wanted = words(query)[:MAX_QUERY_WORDS]
    if not wanted:
        return SearchResult(kind="words", conversations=[])
    tokens = tokens_for(company_id=membership.company_id, text=" ".join(wanted))
    matching = (
        SearchToken.objects.filter(company_id=membership.company_id, token__in=tokens)
        .values("conversation_id")
        .annotate(hits=Count("token", distinct=True))
        .filter(hits=len(tokens))
        .values("conversation_id")
    )
    result = _result("words", visible.filter(id__in=matching), limit=limit)
    return SearchResult(
        kind=result.kind,
        conversations=result.conversations,
        words=len(tokens),
        limited=result.limited,
    )


def _result(kind: str, qs, *, limit: int) -> SearchResult:
    rows = list(
        qs.select_related("inbox", "assigned_to").order_by("-last_message_at", "-id")[: limit + 1]
    )
    return SearchResult(kind=kind, conversations=rows[:limit], limited=len(rows) > limit)
