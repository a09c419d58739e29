"""/health/: database, broker and storage reachability for load balancers and probes (200 or
503, JSON, no secrets), answered whatever the Host header and never redirected to HTTPS."""
import json

import pytest

from tests.integration.realservices import REDIS_HOST, REDIS_PORT, require


def health(client, **headers):
    response = client.get("/health/", **headers)
    return response.status_code, json.loads(response.content), response


@pytest.mark.django_db
def test_embedded_default_is_healthy_from_any_host_over_http(client, settings, media_root):
    settings.SECURE_SSL_REDIRECT = True          # as in a deployment
    status, body, response = health(client, HTTP_HOST="10.244.3.7:8000")   # a pod's address
    assert status == 200, body
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["storage"]["ok"]
    assert body["checks"]["broker"]["detail"] == "none: tasks run in-process"
    assert body["checks"]["storage"]["detail"] == "FileSystemStorage"
    assert response["Cache-Control"] == "no-store"
    # Other paths still check the host.
    assert client.get("/admin/login/", HTTP_HOST="10.244.3.7:8000").status_code == 400


@pytest.mark.django_db
def test_broker_down_is_503_and_names_the_broker_without_its_password(client, settings,
                                                                      media_root):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://:hunter2-broker-password@127.0.0.1:1/0"
    status, body, _ = health(client)
    assert status == 503 and body["status"] == "unavailable"
    assert not body["checks"]["broker"]["ok"] and body["checks"]["database"]["ok"]
    assert "hunter2" not in json.dumps(body)


@pytest.mark.redis
@pytest.mark.django_db
def test_real_redis_broker_is_reachable(client, settings, media_root):
    require(REDIS_HOST, REDIS_PORT, "Redis")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/3"
    status, body, _ = health(client)
    assert status == 200 and body["checks"]["broker"] == {"ok": True, "ms": body["checks"]["broker"]["ms"],
                                                          "detail": "redis"}


@pytest.mark.django_db
def test_object_storage_reachable_then_bucket_gone(client, s3_storage):
    server, bucket = s3_storage
    status, body, _ = health(client)
    assert status == 200 and body["checks"]["storage"]["detail"] == "S3Storage", body
    server.client().delete_bucket(Bucket=bucket)
    status, body, _ = health(client)
    assert status == 503 and not body["checks"]["storage"]["ok"]
    assert "NoSuchBucket" in body["checks"]["storage"]["detail"]
    assert "grader-test-secret" not in json.dumps(body)


@pytest.mark.django_db
def test_media_folder_that_cannot_be_created_is_unhealthy(client, settings, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    settings.MEDIA_ROOT = tmp_path / "a-file" / "media"
    status, body, _ = health(client)
    assert status == 503 and body["checks"]["storage"]["detail"] == (
        "NotADirectoryError: the media folder's parent is not a folder")
