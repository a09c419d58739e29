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
    ({"GRADER_EXPRESSION_BUDGET_S": "soon"}, "GRADER_EXPRESSION_BUDGET_S='soon' is not a number"),
    ({"GRADER_EXPRESSION_BUDGET_S": "0"}, "GRADER_EXPRESSION_BUDGET_S=0.0 must be at least 0.1"),
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


def _clean_env(**env) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items()
            if k not in ("DEBUG", "SECRET_KEY", "DATABASE_URL", "GRADER_EMBEDDED")}
    base.update(env)
    return base


def test_deploy_check_flags_the_embedded_key():
    """DEBUG off, GRADER_EMBEDDED unset, no SECRET_KEY (the configuration trap): an error."""
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT,
                            env=_clean_env(DEBUG="0"), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "grader.E001" in result.stderr and "public embedded default" in result.stderr


@pytest.mark.parametrize("env,serves", [
    ({"DEBUG": "0"}, False),                               # the trap
    ({}, False),                                           # DEBUG defaults to off
    ({"DEBUG": "0", "GRADER_EMBEDDED": "1"}, True),        # an explicit single-machine trial
    ({"DEBUG": "1"}, True),                                # development server
    ({"DEBUG": "0", "SECRET_KEY": "k" * 60}, True),
])
def test_wsgi_refuses_the_embedded_key(env, serves):
    result = subprocess.run([sys.executable, "-c", "import config.wsgi"], cwd=ROOT,
                            env=_clean_env(**env), capture_output=True, text=True, timeout=60)
    assert (result.returncode == 0) == serves, result.stderr[-2000:]
    if not serves:
        assert "refusing to serve on the public embedded SECRET_KEY" in result.stderr


def test_gunicorn_does_not_start_on_the_embedded_key(tmp_path):
    """The real server (as in the Dockerfile) exits instead of serving."""
    proc = subprocess.run(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", "127.0.0.1:0",
         "--workers", "1"], cwd=ROOT, env=_clean_env(DEBUG="0", DATABASE_URL=f"sqlite:///{tmp_path}/db"),
        capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "refusing to serve on the public embedded SECRET_KEY" in proc.stdout + proc.stderr
