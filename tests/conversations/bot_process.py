"""A second "web process" for tests/conversations/test_bot_model.py: answers decide() over stdin.

Each input line is JSON {"inbox": id, "text": "...", "language": "de"}; each
output line is JSON {"kind": ..., "answer": ..., "version": <faq_version>}.
It keeps its own per-process models (conversations.bot.registry), exactly as a
web process does, and shares nothing with the test but the database.
"""

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")

import django  # noqa: E402

django.setup()

from conversations.bot import decide  # noqa: E402
from conversations.models import Inbox  # noqa: E402

for line in sys.stdin:
    request = json.loads(line)
    inbox = Inbox.objects.get(pk=request["inbox"])
    decision = decide(inbox=inbox, text=request["text"], language=request["language"])
    reply = {
        "kind": decision.kind,
        "answer": decision.answer,
        "version": inbox.faq_version,
    }
    print(json.dumps(reply), flush=True)
