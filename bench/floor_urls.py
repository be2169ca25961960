"""Benchmark-only URLconf: the product's URLs plus /bench/floor/.

The floor view is what the stack can do at best: parse a small JSON body and
insert one plain, unencrypted row with one INSERT (table bench_floor, created by
bench/ingest.py). It goes through the same middleware as the chat API.
"""

import json

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from chatbot_site.urls import urlpatterns as product_urlpatterns


@csrf_exempt
def floor(request: HttpRequest) -> JsonResponse:
    text = json.loads(request.body)["text"]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_floor (body, created_at) VALUES (%s, now()) RETURNING id", [text]
        )
        (row_id,) = cursor.fetchone()
    return JsonResponse({"id": row_id, "body": text})


urlpatterns = [path("bench/floor/", floor), *product_urlpatterns]
