"""Logins: API tokens that expire (the view is ``exams.api.TokenApi``), and the response to a
locked-out login.

Failed logins (``/api/auth/token/`` and ``/admin/login/``) are counted by django-axes per
account and per client address (settings: LOGIN_FAILURE_LIMIT, LOGIN_LOCKOUT_MINUTES); a
locked-out login gets ``lockout_response`` (429) even with the right password, until the
lockout expires or an admin deletes the access attempts in the admin.
"""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


def token_ttl() -> timedelta:
    return timedelta(hours=settings.API_TOKEN_TTL_HOURS)


def token_expired(token: Token) -> bool:
    return token.created <= timezone.now() - token_ttl()


@transaction.atomic
def token_issue(*, user) -> Token:
    """The user's token; an expired one is replaced by a new key (the old one stops working)."""
    token, created = Token.objects.select_for_update().get_or_create(user=user)
    if not created and token_expired(token):
        token.delete()
        token = Token.objects.create(user=user)
    return token


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF token authentication that refuses tokens older than API_TOKEN_TTL_HOURS."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            raise exceptions.AuthenticationFailed(
                "The token has expired; get a new one from POST /api/auth/token/.")
        return user, token


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer to a locked-out login: JSON for the API, a short page for the admin."""
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    message = (f"Too many failed logins for this account or from this address; try again in "
               f"{minutes} minutes.")
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"error": message}, status=429)   # the API's shape
    else:
        response = HttpResponse(
            f"<!DOCTYPE html><html lang=en><title>Locked out</title>"
            f"<body style='font-family: system-ui, sans-serif; margin: 2em; max-width: 40em'>"
            f"<h1>Locked out</h1><p>{message}</p><p>An administrator can lift the lockout at "
            f"once (admin, Axes, Access attempts).</p></body></html>", status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT proxies in front the
    address the outermost trusted proxy saw (X-Forwarded-For, counted from the right)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")
