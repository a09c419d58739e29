import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from exams.checks import refuse_embedded_key_when_serving  # noqa: E402 - needs the apps loaded

refuse_embedded_key_when_serving()
