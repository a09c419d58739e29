"""The exam definition stored once, and a page read stored as one value.

- Question: the whole definition (key included) moves into ``spec`` as the grading core's
  QuestionSpec JSON; the hand-synced columns (number, part, title, key, solver, params,
  tolerance, options, rubric) go. Exam.definition (the parsed YAML, never read) goes.
- Page: text, source, confidence, OCR words, checkbox readings and the page info move into
  ``read`` (grader.pages.PageRead JSON).

The data is converted with plain dictionaries (no import of the grading core), so this
migration keeps working whatever the core becomes.
"""
from django.db import migrations, models

DEFAULT_TOLERANCE = {"abs": 1e-9, "rel": 1e-6}
MARK_FIELDS = ("cx", "cy", "side", "mark", "checked", "confidence", "uncertain", "predicted")


def question_spec(q) -> dict:
    extra = q.spec or {}
    return {
        "label": q.label, "number": q.number, "part": q.part or None, "kind": q.kind,
        "points": q.points, "key": q.key, "options": list(q.options or ()),
        "tolerance": q.tolerance or DEFAULT_TOLERANCE,
        "partial": extra.get("partial"), "scoring": extra.get("scoring") or "all_or_nothing",
        "rubric": [{"points": r["points"], "text": r["text"], "keywords": list(r.get("keywords", ()))}
                   for r in q.rubric or ()],
        "variables": list(extra.get("variables") or ()), "outputs": list(extra.get("outputs") or ()),
        "title": q.title, "depends_on": extra.get("depends_on"),
        "carry": [list(pair) for pair in (extra.get("carry") or {}).items()],
        "solver": q.solver or None, "params": q.params,
    }


def page_read(page) -> dict:
    info = page.info or {}
    boxes = page.boxes if isinstance(page.boxes, dict) and page.boxes else None
    fit = None
    if boxes:
        registration = boxes.get("registration", {})
        fit = {"template_page": boxes.get("template_page", page.number),
               "ok": bool(registration.get("ok")),
               "fit_error_mm": registration.get("fit_error_mm"),
               "upside_down": bool(registration.get("upside_down")),
               "upright_turn_cw": registration.get(
                   "upright_turn_cw", 180 if registration.get("upside_down") else 0),
               "readings": [{k: r.get(k) for k in ("label", "option", "mark", "checked",
                                                   "confidence", "uncertain", "y_mm")}
                            for r in boxes.get("readings", ())]}
    marks = info.get("marks")
    return {
        "number": page.number, "source": page.source, "text": page.text,
        "confidence": page.confidence, "words": [list(w) for w in page.words or ()],
        "word_boxes": info.get("word_boxes") or [], "turned_cw": info.get("ocr_turn_cw", 0),
        "fit": fit,
        "marks": None if marks is None else [
            {"page": page.number, **dict(zip(MARK_FIELDS, m))} for m in marks],
        "choice_boxes": info.get("choice_boxes") or {},
    }


def forwards(apps, schema_editor):
    Question = apps.get_model("exams", "Question")
    Page = apps.get_model("exams", "Page")
    for q in Question.objects.iterator():
        q.spec = question_spec(q)
        q.save(update_fields=["spec"])
    for page in Page.objects.iterator():
        page.read = page_read(page)
        page.save(update_fields=["read"])


class Migration(migrations.Migration):

    dependencies = [("exams", "0004_answer_spans")]

    operations = [
        migrations.AddField(
            model_name="page", name="read",
            field=models.JSONField(default=dict, help_text="The page as read: text, OCR words "
                                                           "and their boxes, checkbox readings.")),
        migrations.RunPython(forwards, migrations.RunPython.noop),
        *[migrations.RemoveField(model_name="page", name=name)
          for name in ("text", "source", "confidence", "words", "boxes", "info")],
        *[migrations.RemoveField(model_name="question", name=name)
          for name in ("number", "part", "title", "key", "solver", "params", "tolerance",
                       "options", "rubric")],
        migrations.AlterField(
            model_name="question", name="spec",
            field=models.JSONField(blank=True, default=dict,
                                   help_text="The question as defined and keyed (QuestionSpec).")),
        migrations.RemoveField(model_name="exam", name="definition"),
        migrations.AlterField(
            model_name="exam", name="source_yaml",
            field=models.TextField(blank=True, help_text="The exam file as the instructor "
                                   "uploaded it (for them to read; grading reads each "
                                   "question's spec).")),
    ]
