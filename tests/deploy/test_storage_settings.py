"""STORAGES from the environment: the local folder by default, S3-compatible object storage
when AWS_STORAGE_BUCKET_NAME is set (django-storages' names), WhiteNoise's manifest storage in
a deployment; a bad or half-given storage setting stops the process with its name."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOW = ("import json; from django.conf import settings as s; o = s.STORAGES['default'].get('OPTIONS', {}); "
        "print(json.dumps({'default': s.STORAGES['default']['BACKEND'], "
        "'static': s.STORAGES['staticfiles']['BACKEND'], 'options': {k: v for k, v in o.items() "
        "if k != 'client_config'}, 'style': o['client_config'].s3 if o else None}))")


def run(*args, **env):
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("AWS_", "DEBUG", "SECRET_KEY", "GRADER_EMBEDDED"))}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=60)


def storages(**env) -> dict:
    result = run("shell", "-c", SHOW, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_default_is_the_local_folder_and_static_files_from_the_apps():
    assert storages() == {"default": "django.core.files.storage.FileSystemStorage",
                          "static": "django.contrib.staticfiles.storage.StaticFilesStorage",
                          "options": {}, "style": None}


def test_bucket_selects_s3_with_the_contract_names_and_deployment_static_storage():
    got = storages(AWS_STORAGE_BUCKET_NAME="grader", AWS_S3_ENDPOINT_URL="http://minio:9000",
                   AWS_ACCESS_KEY_ID="key-id", AWS_SECRET_ACCESS_KEY="secret-value",
                   AWS_S3_REGION_NAME="eu-west-1", AWS_S3_ADDRESSING_STYLE="path",
                   DEBUG="0", GRADER_EMBEDDED="0", SECRET_KEY="s" * 60)
    assert got["default"] == "storages.backends.s3.S3Storage"
    assert got["static"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    options = got["options"]
    assert (options["bucket_name"], options["endpoint_url"], options["region_name"]) == (
        "grader", "http://minio:9000", "eu-west-1")
    assert (options["access_key"], options["secret_key"]) == ("key-id", "secret-value")
    assert options["file_overwrite"] is False and options["default_acl"] is None
    assert got["style"] == {"addressing_style": "path"}


@pytest.mark.parametrize("env,message", [
    ({"AWS_STORAGE_BUCKET_NAME": "b", "AWS_S3_ADDRESSING_STYLE": "sideways"},
     "AWS_S3_ADDRESSING_STYLE='sideways' is not one of auto, path, virtual"),
    ({"AWS_STORAGE_BUCKET_NAME": "b", "AWS_ACCESS_KEY_ID": "only-the-key"},
     "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set together"),
    ({"AWS_S3_ENDPOINT_URL": "http://minio:9000"},
     "AWS_S3_ENDPOINT_URL is set but AWS_STORAGE_BUCKET_NAME is not"),
    ({"AWS_STORAGE_BUCKET_NAME": "b", "AWS_S3_ENDPOINT_URL": "minio:9000"},
     "AWS_S3_ENDPOINT_URL='minio:9000' is not a URL like http://host:port"),
    ({"GRADER_FILE_CACHE_MB": "lots"}, "GRADER_FILE_CACHE_MB='lots' is not an integer"),
])
def test_bad_storage_settings_fail_loudly(env, message):
    result = run("check", **env)
    assert result.returncode != 0 and message in result.stderr, result.stderr[-500:]
