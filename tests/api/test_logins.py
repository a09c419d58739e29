"""Logins (issue 18, finding 5): failed logins are throttled per account and per address on
the token endpoint and the admin login, tokens expire, passwords follow Django's full policy.
In-process; tests/hardening/test_shared_limits.py shows the counts hold across server processes."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.api.factories import make_user

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _fast_hashes(settings):
    # Dozens of logins per test: the production hasher's cost is not what is tested here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def token_post(username: str, password: str, ip: str = "10.0.0.1"):
    return APIClient().post("/api/auth/token/", {"username": username, "password": password},
                            REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_account_is_locked_after_failed_logins_from_any_address(settings):
    make_user("alice", password=PASSWORD)
    limit = settings.LOGIN_FAILURE_LIMIT
    # Every wrong try from another address: an address limit alone would never trigger.
    # The try that reaches the limit is answered with the lockout.
    answers = [token_post("alice", "wrong", ip=f"10.0.1.{i}").status_code for i in range(limit)]
    assert answers == [400] * (limit - 1) + [429]
    locked = token_post("alice", PASSWORD, ip="10.0.2.1")      # the right password, too late
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.json()["error"]
    assert locked["Retry-After"] == str(settings.LOGIN_LOCKOUT_MINUTES * 60)
    assert token_post("bob", "whatever", ip="10.0.2.2").status_code == 400   # others unaffected


@pytest.mark.django_db
def test_address_is_locked_after_failed_logins_on_many_accounts(settings):
    make_user("carol", password=PASSWORD)
    for i in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert token_post(f"guess{i}", "wrong", ip="10.9.9.9").status_code == 400
    assert token_post("guess", "wrong", ip="10.9.9.9").status_code == 429
    assert token_post("carol", PASSWORD, ip="10.9.9.9").status_code == 429
    ok = token_post("carol", PASSWORD, ip="10.9.9.10")
    assert ok.status_code == 200 and len(ok.json()["token"]) == 40


@pytest.mark.django_db
def test_own_successful_login_does_not_reset_the_counts(settings):
    """Guessing at dave's password from one address, with a login to one's own account in
    between: neither dave's count nor the address's starts again."""
    make_user("dave", password=PASSWORD)
    make_user("mallory", password=PASSWORD)
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert token_post("dave", "wrong", ip="10.6.6.6").status_code == 400
    assert token_post("mallory", PASSWORD, ip="10.6.6.7").status_code == 200
    assert token_post("dave", "wrong", ip="10.6.6.6").status_code == 429


@pytest.mark.django_db
def test_admin_login_is_locked_too(settings):
    make_user("erin", password=PASSWORD, superuser=True)
    client = Client(REMOTE_ADDR="10.1.1.1")
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        response = client.post("/admin/login/", {"username": "erin", "password": "wrong"})
        assert response.status_code == 200          # the form again, with its error
    assert client.post("/admin/login/", {"username": "erin", "password": "wrong"}).status_code == 429
    locked = client.post("/admin/login/", {"username": "erin", "password": PASSWORD})
    assert locked.status_code == 429 and b"Locked out" in locked.content
    # The token endpoint shares the count: the account is locked there as well.
    assert token_post("erin", PASSWORD, ip="10.1.1.2").status_code == 429


@pytest.mark.django_db
def test_expired_token_is_refused_and_replaced(settings):
    user = make_user("frank", password=PASSWORD)
    first = token_post("frank", PASSWORD).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {first['token']}")
    assert client.get("/api/submissions/999999/").status_code == 404      # accepted
    Token.objects.filter(user=user).update(
        created=timezone.now() - timedelta(hours=settings.API_TOKEN_TTL_HOURS, seconds=1))
    expired = client.get("/api/submissions/999999/")
    assert expired.status_code == 401 and "expired" in expired.json()["error"]
    second = token_post("frank", PASSWORD).json()
    assert second["token"] != first["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {second['token']}")
    assert client.get("/api/submissions/999999/").status_code == 404


@pytest.mark.parametrize("password, ok", [
    ("password", False),            # common
    ("84736251907", False),         # numeric
    ("short1!", False),             # too short
    ("grace-hopper-1906", False),   # like the username
    ("correct horse battery", True),
])
def test_password_policy(password, ok):
    from django.contrib.auth.models import User

    user = User(username="gracehopper", first_name="Grace", last_name="Hopper")
    if ok:
        validate_password(password, user)
    else:
        with pytest.raises(ValidationError):
            validate_password(password, user)
