"""E-mail addresses (see the package docstring for the rule)."""

from __future__ import annotations

import re

from .spans import Span

# Starts only where the previous character cannot belong to a local part, so a
# long word without "@" is scanned once, not once per character.
_EMAIL = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~\-])"
    # local part: every character RFC 5322 allows unquoted; dots anywhere, since
    # a typo ("max..muster@") is still somebody's address
    r"[\w!#$%&'*+/=?^`{|}~.\-]+"
    r"@"
    r"(?:[^\W_](?:[\w\-]{0,61}[^\W_])?\.)+"  # domain labels
    r"(?:[^\W\d_]{2,63}|[Xx][Nn]--[\w\-]{1,59})"  # TLD: letters (any script) or punycode
    r"(?![\w\-]|\.[^\W_])"  # do not stop in the middle of a longer domain
)


def _find_emails(text: str) -> list[Span]:
    return [Span("email", m.start(), m.end()) for m in _EMAIL.finditer(text)]
