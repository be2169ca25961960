"""The FAQ bot's decision interface (issue 14): what the bot does with one visitor message.

Callers (the chat flow, the FAQ pages' "try the bot" box, the FAQ import) use
only the names exported here: decide(), entry_answer(), faq_changed(),
Decision and Suggestion. How a decision is reached (the per-inbox intent
model, small talk, the handover phrases) lives in the modules beside this one.
"""

from conversations.bot.decisions import (
    Decision,
    Suggestion,
    decide,
    entry_answer,
    faq_changed,
)

__all__ = ["Decision", "Suggestion", "decide", "entry_answer", "faq_changed"]
