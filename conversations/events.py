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
  logged (ids and the error's type, no payload) and dropped, and publishing
  pauses for a few seconds (an unreachable Redis costs one request a timeout,
  not every request). Pages fall back to polling, so a lost event costs a few
  seconds, never data.

Groups (the consumers in conversations/consumers.py join them):
- ``inbox.<inbox id>``: every console socket whose membership may SEE the inbox;
- ``conversation.<id>``: the visitor's chat socket(s);
- ``conversation.<id>.staff``: console sockets watching the conversation (typing).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import defaultdict

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.db import transaction
from redis.backoff import NoBackoff
from redis.retry import Retry

from conversations.models import Conversation, Message, Visitor

logger = logging.getLogger(__name__)

# What changed; the pages decide what to fetch from it.
WHAT = frozenset({"message", "status", "assignment", "contact"})
# A publish that takes longer is abandoned (Redis unreachable must not hold a request).
PUBLISH_TIMEOUT_SECONDS = 1.0
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
    """Send one event to its two groups now; False (logged, no payload) if that failed.

    On channels-redis's RedisChannelLayer (production, CI) the event is written
    by _RedisGroupSender, synchronously, in the thread that wrote: two Redis
    round trips on a kept connection, 0.14-0.25 ms of CPU. Handing it to a loop in a
    thread of its own (the first design) cost 1.3-2.3 ms of CPU per event in the
    hand-over, more than the rest of the push (docs/benchmarks.md, Chat ingest,
    2026-12-02 third session). Any other layer (the in-memory layer of the
    embedded run, which lives on the ASGI server's loop) gets it through its own
    group_send via async_to_sync.
    """
    layer = get_channel_layer()
    if layer is None:
        return False
    groups = (inbox_group(payload["inbox"]), visitor_group(payload["conversation"]))
    sender = _redis_sender(layer)
    try:
        if sender is not None:
            return sender.send(groups, payload)
        async_to_sync(_send)(layer, groups, payload)
    except Exception as exc:  # noqa: BLE001 (any layer failure: logged, never raised)
        _failed(payload, exc)
        if sender is not None:
            sender.pause()
        return False
    return True


def _failed(payload: dict, exc: BaseException) -> None:
    logger.warning(
        "realtime.publish_failed conversation=%s what=%s error=%s",
        payload["conversation"],
        payload["what"],
        type(exc).__name__,
    )


async def _send(layer, groups: tuple[str, ...], payload: dict) -> None:
    sends = [layer.group_send(group, payload) for group in groups]
    await asyncio.wait_for(asyncio.gather(*sends), PUBLISH_TIMEOUT_SECONDS)


# channels-redis's own script for a group send (channels_redis/core.py, 4.x): add
# the message to each member channel's sorted set unless it is at capacity.
_GROUP_SEND_LUA = """
local over_capacity = 0
local current_time = ARGV[#ARGV - 1]
local expiry = ARGV[#ARGV]
for i=1,#KEYS do
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
        redis.call('ZADD', KEYS[i], current_time, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""


class _RedisGroupSender:
    """RedisChannelLayer.group_send for synchronous code, both groups at once.

    Writes exactly what the layer's own group_send writes (the same keys, the
    layer's own channel mapping and serializer, the same script), so the
    consumers, which receive through the layer, cannot tell the difference (the
    realtime tests receive through it). Two round trips per event instead of
    eight: the groups' members (one pipeline), then each member channel's
    expiry and the script (one pipeline per Redis shard, only if anybody
    listens). After a failure it pauses for PAUSE_SECONDS (pages poll), so an
    unreachable Redis costs one request a timeout, not every request.
    """

    PAUSE_SECONDS = 5.0

    def __init__(self, layer) -> None:
        self.layer = layer
        self.clients = []
        for host in layer.hosts:
            options = {key: value for key, value in host.items() if key != "address"}
            # One try, at most PUBLISH_TIMEOUT_SECONDS: a request never waits
            # out redis-py's retries for an event the page can also poll for.
            options.update(
                socket_timeout=PUBLISH_TIMEOUT_SECONDS,
                socket_connect_timeout=PUBLISH_TIMEOUT_SECONDS,
                retry=Retry(NoBackoff(), 0),
            )
            self.clients.append(redis.Redis.from_url(host["address"], **options))
        self.paused_until = 0.0

    def pause(self) -> None:
        self.paused_until = time.monotonic() + self.PAUSE_SECONDS

    def send(self, groups: tuple[str, ...], message: dict) -> bool:
        if time.monotonic() < self.paused_until:
            return False
        layer = self.layer
        now = time.time()
        reads: dict[int, list[bytes]] = defaultdict(list)
        for group in groups:
            reads[layer.consistent_hash(group)].append(layer._group_key(group))
        members: list[list[bytes]] = []
        for index, keys in reads.items():
            pipe = self.clients[index].pipeline(transaction=False)
            for key in keys:
                pipe.zremrangebyscore(key, min=0, max=int(now) - layer.group_expiry)
                pipe.zrange(key, 0, -1)
            members += pipe.execute()[1::2]
        writes = {}
        for names in members:  # one group's channels at a time, as group_send does
            if not names:
                continue
            channel_keys, payloads, capacities = layer._map_channel_keys_to_connection(
                [name.decode("utf8") for name in names], message
            )
            for index, keys in channel_keys.items():
                if index not in writes:
                    writes[index] = self.clients[index].pipeline(transaction=False)
                pipe = writes[index]
                for key in keys:
                    pipe.zremrangebyscore(key, min=0, max=int(now) - int(layer.expiry))
                args = [payloads[k] for k in keys] + [capacities[k] for k in keys]
                pipe.eval(_GROUP_SEND_LUA, len(keys), *keys, *args, now, layer.expiry)
        for pipe in writes.values():
            pipe.execute()
        return True


@functools.cache
def _redis_sender(layer) -> _RedisGroupSender | None:
    """This layer's synchronous sender (one per layer object and process), or None
    if the layer is not channels-redis's RedisChannelLayer on plain addresses."""
    plain = type(layer) is RedisChannelLayer and all(
        "address" in host and "sentinels" not in host for host in layer.hosts
    )
    return _RedisGroupSender(layer) if plain else None
