"""Static files in a deployment: gunicorn with DEBUG off serves the admin's stylesheets
(WhiteNoise, after `collectstatic`), under hashed names that may be cached forever, compressed
for clients that accept it. And the embedded default serves them without collectstatic."""
import http.client
import re

from bench.api_load import gunicorn
from tests.integration.realservices import manage, project_env

PRODUCTION = {"DEBUG": "0", "GRADER_EMBEDDED": "0", "ALLOWED_HOSTS": "127.0.0.1",
              "SECRET_KEY": "static-test-" + "k" * 60, "SECURE_SSL_REDIRECT": "0"}


def fetch(port: int, path: str, **headers) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_admin_is_styled_under_gunicorn_with_debug_off(tmp_path):
    env = project_env(tmp_path, STATIC_ROOT=str(tmp_path / "static"), **PRODUCTION)
    manage(env, "collectstatic", "--noinput")
    with gunicorn(env, log=tmp_path / "web.log", workers=1) as port:
        status, _, page = fetch(port, "/admin/login/")
        assert status == 200, page[:500]
        stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.decode())
        base = next(href for href in stylesheets if "/admin/css/base." in href)
        assert re.fullmatch(r"/static/admin/css/base\.[0-9a-f]{12}\.css", base), base

        status, headers, css = fetch(port, base)
        assert status == 200 and headers["content-type"].startswith("text/css")
        assert b"body" in css and "immutable" in headers["cache-control"]

        status, headers, compressed = fetch(port, base, **{"Accept-Encoding": "gzip"})
        assert status == 200 and headers.get("content-encoding") == "gzip"
        assert len(compressed) < len(css)

        status, headers, _ = fetch(port, "/static/admin/css/base.css")   # the plain name too
        assert status == 200 and headers["content-type"].startswith("text/css")


def test_a_trial_server_serves_static_files_without_collectstatic(tmp_path):
    # GRADER_EMBEDDED=1: a single-machine trial on the embedded key (unset, a production web
    # server refuses to start on it: tests/core/test_settings.py).
    env = project_env(tmp_path, DEBUG="0", GRADER_EMBEDDED="1",
                      STATIC_ROOT=str(tmp_path / "never-collected"))
    with gunicorn(env, log=tmp_path / "web.log", workers=1) as port:
        status, headers, css = fetch(port, "/static/admin/css/base.css")
    assert status == 200 and headers["content-type"].startswith("text/css") and b"body" in css
