"""Template filters for the grading pages: flag names in words (exams.flags)."""
from django import template

from exams import flags

register = template.Library()


@register.filter
def flag_label(name: str) -> str:
    return flags.flag_label(name)


@register.filter
def flag_reason(name: str) -> str:
    return flags.flag_reason(name)
