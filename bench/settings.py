"""Benchmark-only settings: the product's settings plus the "floor" URL (bench/floor_urls.py).

Never used by the product; bench/ingest.py starts gunicorn with
DJANGO_SETTINGS_MODULE=bench.settings.
"""

import os

from chatbot_site.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.floor_urls"

# Production-like: DEBUG on would record every query and slow every request.
DEBUG = False

# BENCH_NO_PUSH=1: no channel layer, so a message publishes no event (to measure
# what the push costs the chat; bench/ingest.py --no-push).
if os.environ.get("BENCH_NO_PUSH"):
    CHANNEL_LAYERS = {}
