"""Benchmark-only settings: the product's settings plus the "floor" URL (bench/floor_urls.py).

Never used by the product; bench/ingest.py starts gunicorn with
DJANGO_SETTINGS_MODULE=bench.settings.
"""

from chatbot_site.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.floor_urls"

# Production-like: DEBUG on would record every query and slow every request.
DEBUG = False
