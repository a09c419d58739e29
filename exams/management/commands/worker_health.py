from __future__ import annotations

import json
import socket

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("Readiness of a Celery worker (for compose/Kubernetes probes, run in the worker's "
            "container): database, broker and file storage reachable with its settings, and the "
            "worker node answering a ping over the broker. Prints JSON; exits non-zero if not ready.")

    def add_arguments(self, parser):
        parser.add_argument("--node", default=f"celery@{socket.gethostname()}",
                            help="the worker's node name (default: celery@<this host name>, "
                                 "Celery's default for a worker started here)")
        parser.add_argument("--timeout", type=float, default=5.0,
                            help="seconds to wait for the node's answer")

    def handle(self, *args, **opts):
        from exams.health import worker_readiness

        report = worker_readiness(opts["node"], timeout=opts["timeout"])
        self.stdout.write(json.dumps(report.as_dict()))
        if not report.ok:
            failed = ", ".join(c.name for c in report.checks if not c.ok)
            raise CommandError(f"worker {opts['node']} not ready: {failed}")
