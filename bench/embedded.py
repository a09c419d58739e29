"""The embedded set-up a bench runs Django in: a fresh SQLite database and media folder in a
temporary directory, tasks in-process (no broker), migrated."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def setup_embedded_django(prefix: str) -> Path:
    """Set Django up on a fresh SQLite database under a new temporary directory (returned),
    with no broker, and migrate it."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["MEDIA_ROOT"] = str(tmp / "media")
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return tmp
