# Each test counts rate limits in its own namespace, and the personas' passwords use a fast hasher.
from tests.conversations.chat_support import fresh_rate_limits  # noqa: F401 (autouse fixture)
