from __future__ import annotations

from django.core.management.base import BaseCommand

from exams import services


class Command(BaseCommand):
    help = ("Re-enqueue submissions that were never picked up (broker down at upload time) or "
            "were abandoned in `processing` by a killed worker. Celery beat runs the same sweep "
            "every minute; this command is for cron or a manual nudge.")

    def handle(self, *args, **opts):
        stale, queued = services.submissions_sweep()
        self.stdout.write(f"{stale} stale submissions, {queued} enqueued")
