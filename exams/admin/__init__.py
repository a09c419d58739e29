"""The admin: exams for instructors, the TA review queue (the Answer changelist, flagged answers
first), answer groups, statistics, rosters, the regrade-request queue. Machine output is
read-only; every action and every decision calls one service (exams.review, exams.services,
exams.courses, exams.regrades). Staff see only their exams.

A package rather than one admin.py to keep each file readable; importing it registers all."""
from exams.admin import exams_admin, regrade_queue, review_queue  # noqa: F401
