from django.apps import AppConfig


class ExamsConfig(AppConfig):
    name = "exams"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the tasks with the Celery app in every process (web, commands, workers):
        # services enqueue them by name, and run them in-process when no broker is set.
        from exams import checks, rubric, signals, tasks  # noqa: F401  (checks: deployment checks)

        signals.questions_synced.connect(rubric.seed_on_sync, dispatch_uid="rubric-seed")
