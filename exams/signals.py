"""Signals of the exams app: how a lower layer tells a higher one that something happened
without importing it (the services are below the rubric and review modules, which use them).
Receivers are connected in ``ExamsConfig.ready``."""
from django.dispatch import Signal

# Sent by services.exam_load inside its transaction, once the exam's questions match the file
# (kwargs: exam).
questions_synced = Signal()
