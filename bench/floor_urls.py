"""Benchmark-only URLconf: the product's URLs plus two "floor" views.

The floors are what the stack can do at best: parse a small JSON body and insert
one plain, unencrypted row (table bench_floor, created by bench/ingest.py), through
the same middleware as the chat API:

- /bench/floor/      with the ORM (Model.objects.create on an unmanaged model);
- /bench/floor-raw/  with one raw SQL INSERT through a cursor.
"""

import json

from django.db import connection, models
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from chatbot_site.urls import handler403, handler404, handler500  # noqa: F401 (the product's error pages)
from chatbot_site.urls import urlpatterns as product_urlpatterns


class FloorRow(models.Model):
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "chatbot_site"  # bench-only, unmanaged: no migration, no product table
        db_table = "bench_floor"
        managed = False

    def __str__(self) -> str:
        return f"floor row #{self.pk}"


@csrf_exempt
def floor(request: HttpRequest) -> JsonResponse:
    text = json.loads(request.body)["text"]
    row = FloorRow.objects.create(body=text)
    return JsonResponse({"id": row.pk, "body": row.body})


@csrf_exempt
def floor_raw(request: HttpRequest) -> JsonResponse:
    text = json.loads(request.body)["text"]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_floor (body, created_at) VALUES (%s, now()) RETURNING id", [text]
        )
        (row_id,) = cursor.fetchone()
    return JsonResponse({"id": row_id, "body": text})


urlpatterns = [
    path("bench/floor/", floor),
    path("bench/floor-raw/", floor_raw),
    *product_urlpatterns,
]
