"""Settings from the environment fail loudly on bad values; production requires a secret."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def check(**env):
    base = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "DATABASE_URL")}
    base.update(env)
    return subprocess.run([sys.executable, "manage.py", "check", *(["--deploy"] if env.get("_deploy") else [])],
                          cwd=ROOT, env=base, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("env,message", [
    ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
    ({"MAX_UPLOAD_MB": "lots"}, "MAX_UPLOAD_MB='lots' is not an integer"),
    ({"MAX_UPLOAD_MB": "0"}, "MAX_UPLOAD_MB=0 must be at least 1"),
    ({"DATABASE_URL": "nonsense://x"}, "DATABASE_URL"),
    ({"GRADER_OCR_ENGINE": "gpu"}, "GRADER_OCR_ENGINE='gpu' is not one of auto, library, command"),
    ({"GRADER_EMBEDDED": "0", "DEBUG": "0"}, "SECRET_KEY is required when DEBUG is off"),
])
def test_bad_settings_fail_loudly(env, message):
    result = check(**env)
    assert result.returncode != 0 and message in result.stderr


def test_production_settings_pass_deploy_check():
    result = check(GRADER_EMBEDDED="0", DEBUG="0", SECRET_KEY="x" * 64 + "-production-secret-key-0123456789",
                   ALLOWED_HOSTS="grader.example.org", SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
                   SECURE_HSTS_PRELOAD="1", _deploy="1")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
