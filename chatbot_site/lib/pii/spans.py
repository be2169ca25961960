"""The span every detector reports: a kind and where it is in the text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    kind: str  # one of chatbot_site.lib.pii.KINDS
    start: int
    end: int
