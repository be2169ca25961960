"""Pushed events: "this conversation changed", sent to the sockets that may know.

Invariants:
- An event carries ids and status only (conversation, inbox, status, assignee
  id, what changed, message id, sender kind): never message text, names or
  contact details. Pages fetch what they show through the normal,
  permission-checked, masking views, so rights and masking stay in one place
  and nothing personal crosses the channel layer (Redis).
- An event is sent after the write commits (transaction.on_commit), so a page
  that fetches on it sees the write; a rolled-back write sends nothing.
- Publishing never fails the request that wrote: a channel-layer failure is
  logged (ids and the error's type, no payload) and dropped. Pages fall back to
  polling, so a lost event costs a few seconds, never data.

Groups (the consumers in conversations/consumers.py join them):
- ``inbox.<inbox id>``: every console socket whose membership may SEE the inbox;
- ``conversation.<id>``: the visitor's chat socket(s);
- ``conversation.<id>.staff``: console sockets watching the conversation (typing).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from conversations.models import Conversation, Message, Visitor

logger = logging.getLogger(__name__)

# What changed; the pages decide what to fetch from it.
WHAT = frozenset({"message", "status", "assignment", "contact"})
# A publish that takes longer is abandoned (Redis unreachable must not hold a request).
PUBLISH_TIMEOUT_SECONDS = 1.0
# Events queued per process while the layer is slow; past this they are dropped (logged).
QUEUE_SIZE = 10_000
EVENT_TYPE = "conversation.changed"  # the consumers' handler: conversation_changed


def inbox_group(inbox_id: int) -> str:
    return f"inbox.{int(inbox_id)}"


def visitor_group(conversation_id: int) -> str:
    return f"conversation.{int(conversation_id)}"


def staff_group(conversation_id: int) -> str:
    return f"conversation.{int(conversation_id)}.staff"


def event_payload(*, conversation: Conversation, what: str, message: Message | None = None) -> dict:
    """The event as it crosses the channel layer: ids and status only."""
    if what not in WHAT:
        raise ValueError(f"unknown event kind {what!r}")
    return {
        "type": EVENT_TYPE,
        "conversation": conversation.pk,
        "inbox": conversation.inbox_id,
        "status": conversation.status,
        "assigned_to": conversation.assigned_to_id,
        "what": what,
        "message": message.pk if message is not None else None,
        "sender": message.sender if message is not None else None,
    }


def conversation_changed(
    *, conversation: Conversation, what: str, message: Message | None = None
) -> None:
    """Tell the console sockets of the inbox and the visitor's socket, after commit.

    Called by the services after each write. The payload is built now (from the
    values the service just wrote), sent once the surrounding transaction
    commits (at once outside one), and never raises.
    """
    payload = event_payload(conversation=conversation, what=what, message=message)
    transaction.on_commit(lambda: publish(payload))


def visitor_contact_changed(*, visitor: Visitor) -> None:
    """The visitor gave or withdrew contact details: tell every page showing one of
    their conversations (the open ones, and the newest even if closed)."""
    conversations = Conversation.objects.filter(
        company_id=visitor.company_id, visitor_id=visitor.pk
    ).order_by("-id")
    for index, conversation in enumerate(
        conversations.only("id", "inbox_id", "status", "assigned_to_id")
    ):
        if index == 0 or conversation.status != Conversation.Status.CLOSED:
            conversation_changed(conversation=conversation, what="contact")


def publish(payload: dict) -> bool:
    """Hand one event to the channel layer; False (logged, no payload) if that failed.

    The in-memory layer (the embedded run: one uvicorn process) lives on the
    ASGI server's event loop, so async_to_sync sends on that loop, at once.
    Any other layer (Redis) is fed by this process's publisher: the request
    only queues the event (microseconds) and one sender task in a thread of its
    own sends the events in order over a kept connection pool. async_to_sync
    from a thread without a loop (gunicorn, Celery) would open a loop and a
    Redis connection per event: 7.8 ms a message; waiting for the send, 1 ms.
    """
    layer = get_channel_layer()
    if layer is None:
        return False
    if isinstance(layer, InMemoryChannelLayer):
        try:
            async_to_sync(_send)(layer, payload)
        except Exception as exc:  # noqa: BLE001 (any layer failure: logged, never raised)
            _failed(payload, exc)
            return False
        return True
    return _publisher().submit(layer, payload)


def drain(timeout: float = 5.0) -> None:
    """Wait until this process's publisher has sent what was queued (tests, shutdown)."""
    if _current is not None and _current.pid == os.getpid():
        _current.drain(timeout)


def _failed(payload: dict, exc: BaseException) -> None:
    logger.warning(
        "realtime.publish_failed conversation=%s what=%s error=%s",
        payload["conversation"],
        payload["what"],
        type(exc).__name__,
    )


async def _send(layer, payload: dict) -> None:
    groups = (inbox_group(payload["inbox"]), visitor_group(payload["conversation"]))
    sends = [layer.group_send(group, payload) for group in groups]
    await asyncio.wait_for(asyncio.gather(*sends), PUBLISH_TIMEOUT_SECONDS)


class _Publisher:
    """One event loop in a daemon thread, one bounded queue, one sender task (per process)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="hafen-events", daemon=True).start()
        self.queue: asyncio.Queue = asyncio.run_coroutine_threadsafe(
            self._start(), self.loop
        ).result(5)

    async def _start(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._task = asyncio.get_running_loop().create_task(self._sender(queue))
        return queue

    def submit(self, layer, payload: dict) -> bool:
        try:
            self.loop.call_soon_threadsafe(self._put, layer, payload)
        except RuntimeError as exc:  # the loop is gone (interpreter shutting down)
            _failed(payload, exc)
            return False
        return True

    def _put(self, layer, payload: dict) -> None:
        try:
            self.queue.put_nowait((layer, payload))
        except asyncio.QueueFull as exc:  # the layer is stuck: drop, pages poll
            _failed(payload, exc)

    async def _sender(self, queue: asyncio.Queue) -> None:
        while True:
            layer, payload = await queue.get()
            try:
                await _send(layer, payload)
            except Exception as exc:  # noqa: BLE001 (logged, the next event is sent)
                _failed(payload, exc)
            finally:
                queue.task_done()

    def drain(self, timeout: float) -> None:
        asyncio.run_coroutine_threadsafe(self.queue.join(), self.loop).result(timeout)


_lock = threading.Lock()
_current: _Publisher | None = None


def _publisher() -> _Publisher:
    """This process's publisher, started on first use (and again in a forked child)."""
    global _current
    with _lock:
        if _current is None or _current.pid != os.getpid():
            _current = _Publisher()
        return _current
