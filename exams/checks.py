"""System checks of the deployment configuration (``manage.py check --deploy``)."""
from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def embedded_secret_key(app_configs=None, **kwargs) -> list[Error]:
    """The embedded key is public (it is in the source): sessions, CSRF tokens and password
    reset links signed with it can be forged by anyone. Django's own check (W009) does not see
    it, the key being long and varied."""
    if settings.SECRET_KEY != settings.EMBEDDED_SECRET_KEY:
        return []
    return [Error("SECRET_KEY is the public embedded default of this project",
                  hint="Set SECRET_KEY to a long random value (python -c 'import secrets; "
                       "print(secrets.token_urlsafe(50))') and GRADER_EMBEDDED=0.",
                  id="grader.E001")]


def refuse_embedded_key_when_serving() -> None:
    """Called by config.wsgi: a web server without DEBUG does not start on the public key
    unless GRADER_EMBEDDED=1 says it is a single-machine trial."""
    from django.core.exceptions import ImproperlyConfigured

    if (settings.SECRET_KEY == settings.EMBEDDED_SECRET_KEY and not settings.DEBUG
            and settings.GRADER_EMBEDDED_EXPLICIT is not True):
        raise ImproperlyConfigured(
            "refusing to serve on the public embedded SECRET_KEY: set SECRET_KEY (and "
            "GRADER_EMBEDDED=0) for a deployment, or GRADER_EMBEDDED=1 for a single-machine trial")
