"""Exam definition YAML -> validated, typed definition (pure Python, no Django).

Every error names the question and the field, so an instructor can fix the file without
reading code: ``question 1.iv, field 'tolerance': ...``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from grader.compare import read_number
from grader.layout import Region
from grader.types import Kind, Marking, QuestionSpec, RubricItem, Tolerance

MAX_YAML_BYTES = 1_000_000
# Values in the file once YAML aliases are expanded. yaml.safe_load shares aliased objects, so
# a 400-byte "billion laughs" loads cheaply, but storing the definition (JSONField) expands it
# to gigabytes. Real exams have a few thousand values.
MAX_YAML_VALUES = 200_000
MAX_KEY_ENTRIES = 10_000       # a key or param array larger than this is almost surely a mistake
MAX_QUESTIONS = 500
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LABEL_RE = re.compile(r"^[A-Za-z0-9]{1,16}$")
MC_SCORING = ("all_or_nothing", "per_option", "coverage")
DEFAULT_POINTS_TOL = Tolerance()


class DefinitionError(ValueError):
    """The exam file is invalid; the message says where and why."""


@dataclass(frozen=True)
class ExamDefinition:
    code: str
    title: str
    blank_pdf: str | None
    questions: tuple[QuestionSpec, ...]
    raw: dict = field(default_factory=dict)
    boxes: dict[str, tuple[tuple[float, ...], ...]] = field(default_factory=dict)
    literal_keys: dict[str, Any] = field(default_factory=dict)
    regions: dict[str, Region] = field(default_factory=dict)   # given in the file, by label
    marking: Marking = Marking.CROSS

    @property
    def max_score(self) -> float:
        return float(sum(q.points for q in self.questions))


class OversizedNumber(str):
    """An integer literal too long to be a number in an exam (kept as its text, so the check
    of the field it stands in names that field). Python refuses to convert integers of more
    than 4,300 digits, so without this the YAML parser itself failed without a field name."""

    def __repr__(self) -> str:
        return f"<a {len(self)}-character number>"


MAX_INTEGER_TEXT = 64


class _Loader(yaml.SafeLoader):
    pass


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    text = loader.construct_scalar(node)
    if len(text) > MAX_INTEGER_TEXT:
        return OversizedNumber(text)
    return yaml.SafeLoader.construct_yaml_int(loader, node)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def parse_definition_text(text: str) -> ExamDefinition:
    if len(text.encode("utf-8", "replace")) > MAX_YAML_BYTES:
        raise DefinitionError(f"the exam file is larger than {MAX_YAML_BYTES // 1000} kB")
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise DefinitionError(f"not valid YAML: {exc}") from None
    except RecursionError:
        # PyYAML's composer recurses once per nesting level ("[[[[..." in a 1 MB file).
        raise DefinitionError("not valid YAML: nested too deeply") from None
    _check_expanded_size(data)
    return parse_definition(data)


def _check_expanded_size(data: Any) -> None:
    """Refuse alias bombs: count values as a consumer would see them, stopping at the limit."""
    count, stack = 0, [data]
    while stack:
        item = stack.pop()
        count += 1
        if count > MAX_YAML_VALUES:
            raise DefinitionError(
                f"the exam file expands to more than {MAX_YAML_VALUES:,} values through YAML "
                f"aliases (&name / *name); write the values out instead")
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def parse_definition(data: Any) -> ExamDefinition:
    if not isinstance(data, dict):
        raise DefinitionError("the exam file must be a mapping with code, title and questions")
    code = data.get("code")
    if not isinstance(code, str) or not CODE_RE.match(code):
        raise DefinitionError("field 'code': required, letters, digits, '_' or '-' (max 64)")
    title = data.get("title", code)
    if not isinstance(title, str):
        raise DefinitionError("field 'title': must be text")
    blank_pdf = data.get("blank_pdf")
    if blank_pdf is not None and not isinstance(blank_pdf, str):
        raise DefinitionError("field 'blank_pdf': must be a path relative to the exam file")
    marking = _marking(data.get("marking", Marking.CROSS.value))
    questions_raw = data.get("questions")
    if not isinstance(questions_raw, list) or not questions_raw:
        raise DefinitionError("field 'questions': required, a non-empty list")
    if len(questions_raw) > MAX_QUESTIONS:
        raise DefinitionError(f"field 'questions': more than {MAX_QUESTIONS} questions")

    specs: list[QuestionSpec] = []
    boxes: dict[str, tuple[tuple[float, ...], ...]] = {}
    literal_keys: dict[str, Any] = {}
    regions: dict[str, Region] = {}
    for index, q in enumerate(questions_raw, start=1):
        if not isinstance(q, dict):
            raise DefinitionError(f"question #{index}: must be a mapping")
        number = _label_part(q.get("number"), f"question #{index}", "number")
        parts = q.get("parts")
        if parts is not None:
            if "kind" in q or "points" in q:
                raise DefinitionError(
                    f"question {number}: has 'parts' and its own kind/points; use one or the other")
            if not isinstance(parts, list) or not parts:
                raise DefinitionError(f"question {number}, field 'parts': must be a non-empty list")
            for p in parts:
                if not isinstance(p, dict):
                    raise DefinitionError(f"question {number}, field 'parts': each part is a mapping")
                part = _label_part(p.get("part"), f"question {number}", "part")
                spec, box, literal = _question_spec(p, number=number, part=part,
                                                    title=str(q.get("title", "")))
                specs.append(spec)
                if "region" in p:
                    regions[spec.label] = _region(p["region"], spec, blank_pdf)
                if box:
                    boxes[spec.label] = box
                if literal is not _MISSING:
                    literal_keys[spec.label] = literal
        else:
            spec, box, literal = _question_spec(q, number=number, part=None, title="")
            specs.append(spec)
            if "region" in q:
                regions[spec.label] = _region(q["region"], spec, blank_pdf)
            if box:
                boxes[spec.label] = box
            if literal is not _MISSING:
                literal_keys[spec.label] = literal

    seen: set[str] = set()
    for spec in specs:
        if spec.label in seen:
            raise DefinitionError(f"question {spec.label}: duplicate label")
        seen.add(spec.label)
    for spec in specs:
        if spec.depends_on and spec.depends_on not in seen:
            raise DefinitionError(
                f"question {spec.label}, field 'depends_on': no question {spec.depends_on!r}")
    return ExamDefinition(code=code, title=title, blank_pdf=blank_pdf, questions=tuple(specs),
                          raw=data, boxes=boxes, literal_keys=literal_keys, regions=regions,
                          marking=marking)


def _marking(value: Any) -> Marking:
    """The exam's marking convention: ``cross`` (default) or ``bubble``."""
    if isinstance(value, str) and value.strip().lower() in tuple(Marking):
        return Marking(value.strip().lower())
    raise DefinitionError(
        f"field 'marking': {value!r} is not one of {', '.join(Marking)} (cross: a crossed box "
        f"is selected, a filled one cancelled; bubble: a filled bubble is selected)")


_MISSING = object()
REGION_FIELDS = ("page", "x", "y", "w", "h")


def _region(raw: Any, spec: QuestionSpec, blank_pdf: str | None) -> Region:
    """``region: {page, x, y, w, h}``: where the answer is written on the blank exam (mm)."""
    where = f"question {spec.label}, field 'region'"
    if blank_pdf is None:
        raise DefinitionError(f"{where}: needs the exam's blank_pdf (the region is on it)")
    if spec.kind == Kind.MULTIPLE_CHOICE:
        raise DefinitionError(f"{where}: multiple-choice answers are read from their boxes")
    if not isinstance(raw, dict) or set(raw) != set(REGION_FIELDS):
        raise DefinitionError(f"{where}: a mapping with page, x, y, w, h (mm on the blank page)")
    values = {}
    for name in REGION_FIELDS:
        value = raw[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value < 0:
            raise DefinitionError(f"{where}.{name}: a number >= 0 (mm)")
        values[name] = value
    if int(values["page"]) != values["page"] or values["page"] < 1:
        raise DefinitionError(f"{where}.page: a page number from 1")
    if values["w"] <= 0 or values["h"] <= 0 or values["x"] + values["w"] > 2000 \
            or values["y"] + values["h"] > 2000:
        raise DefinitionError(f"{where}: w and h must be > 0 and the region on the page")
    return Region(int(values["page"]), float(values["x"]), float(values["y"]),
                  float(values["w"]), float(values["h"]), "yaml")


def _label_part(value: Any, where: str, name: str) -> str:
    if isinstance(value, bool) or value is None:
        raise DefinitionError(f"{where}, field '{name}': required")
    text = str(value).strip()
    if not LABEL_RE.match(text):
        raise DefinitionError(f"{where}, field '{name}': {value!r} must be letters/digits (max 16)")
    return text


def _question_spec(q: dict, *, number: str, part: str | None, title: str):
    label = f"{number}.{part}" if part else number
    where = f"question {label}"
    kind = q.get("kind")
    if kind not in tuple(Kind):
        raise DefinitionError(f"{where}, field 'kind': {kind!r} is not one of {', '.join(Kind)}")
    kind = Kind(kind)
    points = q.get("points")
    if isinstance(points, bool) or not isinstance(points, (int, float)) or not math.isfinite(points) \
            or points < 0:
        raise DefinitionError(f"{where}, field 'points': required, a number >= 0")

    tolerance = _tolerance(q.get("tolerance"), where)
    options: tuple[str, ...] = ()
    literal: Any = _MISSING
    solver = q.get("solver")
    params = q.get("params")
    if solver is not None and not isinstance(solver, str):
        raise DefinitionError(f"{where}, field 'solver': must be a solver name")
    if params is not None and not isinstance(params, dict):
        raise DefinitionError(f"{where}, field 'params': must be a mapping")
    if params is not None and solver is None:
        raise DefinitionError(f"{where}, field 'params': given without a 'solver'")
    if params is not None:
        _check_size(params, where, "params")

    if kind == "multiple_choice":
        raw_options = q.get("options")
        if not isinstance(raw_options, list) or not raw_options:
            raise DefinitionError(f"{where}, field 'options': required for multiple_choice")
        options = tuple(str(o) for o in raw_options)
        correct = q.get("correct")
        if not isinstance(correct, list) or any(
                isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= len(options)
                for c in correct):
            raise DefinitionError(
                f"{where}, field 'correct': a list of option numbers 1..{len(options)} ([] = none)")
        if len(set(correct)) != len(correct):
            raise DefinitionError(f"{where}, field 'correct': repeats an option")
        literal = sorted(correct)
    elif "answer" in q:
        literal = _literal_answer(kind, q["answer"], where)
    elif kind != "text" and solver is None:
        raise DefinitionError(f"{where}: needs 'answer' or 'solver' (kind {kind})")

    scoring = q.get("scoring", "all_or_nothing")
    if scoring not in MC_SCORING:
        raise DefinitionError(f"{where}, field 'scoring': one of {', '.join(MC_SCORING)}")
    partial = q.get("partial")
    if partial not in (None, "per_entry"):
        raise DefinitionError(f"{where}, field 'partial': only 'per_entry' is supported")
    outputs = q.get("outputs", [])
    if not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs):
        raise DefinitionError(f"{where}, field 'outputs': a list of names")
    if kind == "values" and not outputs and not isinstance(literal, dict):
        raise DefinitionError(f"{where}, field 'outputs': required for kind values")
    variables = q.get("variables", [])
    if not isinstance(variables, list) or not all(isinstance(v, str) for v in variables):
        raise DefinitionError(f"{where}, field 'variables': a list of names")
    depends_on = q.get("depends_on")
    if depends_on is not None and not isinstance(depends_on, str):
        raise DefinitionError(f"{where}, field 'depends_on': a question label like \"6.c\"")
    carry = q.get("carry", {})
    if not isinstance(carry, dict):
        raise DefinitionError(f"{where}, field 'carry': a mapping target -> source value name")
    if carry and not depends_on:
        raise DefinitionError(f"{where}, field 'carry': needs 'depends_on'")

    rubric = tuple(_rubric_item(item, where) for item in q.get("rubric", []) or [])
    box = _boxes(q.get("boxes"), where, len(options)) if "boxes" in q else ()
    part_title = q.get("title", "")
    spec = QuestionSpec(
        label=label, number=number, part=part, kind=kind, points=float(points),
        key=None if literal is _MISSING else literal, options=options, tolerance=tolerance,
        partial=partial, scoring=scoring, rubric=rubric, variables=tuple(variables),
        outputs=tuple(outputs), title=str(part_title or title), depends_on=depends_on,
        carry=tuple((str(k), str(v)) for k, v in carry.items()), solver=solver, params=params)
    return spec, box, literal


def _tolerance(raw: Any, where: str) -> Tolerance:
    if raw is None:
        return Tolerance()
    if not isinstance(raw, dict) or set(raw) - {"abs", "rel"}:
        raise DefinitionError(f"{where}, field 'tolerance': a mapping with 'abs' and/or 'rel'")
    values = {}
    for name in ("abs", "rel"):
        if name in raw:
            v = raw[name]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise DefinitionError(f"{where}, field 'tolerance.{name}': a finite number >= 0")
            values[name] = float(v)
    return Tolerance(abs=values.get("abs", 0.0 if "rel" in values else Tolerance().abs),
                     rel=values.get("rel", 0.0 if "abs" in values else Tolerance().rel))


def _number(value: Any, where: str, name: str) -> int | float:
    if isinstance(value, str) and (len(value) > MAX_INTEGER_TEXT
                                   or re.search(r"[eE]\s*[+-]?\d{4,}\s*$", value)):
        raise DefinitionError(f"{where}, field '{name}': {value!r} is too long or too large "
                              f"for a number")
    number = read_number(value)
    if number is None:
        raise DefinitionError(f"{where}, field '{name}': {value!r} is not a number")
    if isinstance(number, float) and math.isnan(number):
        raise DefinitionError(f"{where}, field '{name}': NaN is not a valid key")
    return number


def _literal_answer(kind: str, value: Any, where: str) -> Any:
    _check_size(value, where, "answer")
    if kind == "numeric":
        return _number(value, where, "answer")
    if kind == "shape":
        if not isinstance(value, list) or not value or any(
                isinstance(v, bool) or not isinstance(v, int) for v in value):
            raise DefinitionError(f"{where}, field 'answer': a shape is a list of integers")
        return list(value)
    if kind == "matrix":
        if not isinstance(value, list) or not value:
            raise DefinitionError(f"{where}, field 'answer': a matrix is a list of rows")
        if all(isinstance(row, list) for row in value):
            width = len(value[0])
            if width == 0 or any(len(row) != width for row in value):
                raise DefinitionError(f"{where}, field 'answer': rows of different lengths")
            return [[_number(v, where, "answer") for v in row] for row in value]
        return [_number(v, where, "answer") for v in value]
    if kind == "values":
        if not isinstance(value, dict) or not value:
            raise DefinitionError(f"{where}, field 'answer': a mapping name -> number")
        return {str(k): _number(v, where, f"answer.{k}") for k, v in value.items()}
    if kind == "expression":
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise DefinitionError(f"{where}, field 'answer': an expression as text")
        return str(value)
    if kind == "text":
        return None if value is None else str(value)
    raise DefinitionError(f"{where}, field 'answer': not used for kind {kind}")


def _rubric_item(item: Any, where: str) -> RubricItem:
    if not isinstance(item, dict) or "points" not in item or "text" not in item:
        raise DefinitionError(f"{where}, field 'rubric': each item needs points and text")
    pts = item["points"]
    if isinstance(pts, bool) or not isinstance(pts, (int, float)):
        raise DefinitionError(f"{where}, field 'rubric.points': a number")
    keywords = item.get("keywords", [])
    if not isinstance(keywords, list):
        raise DefinitionError(f"{where}, field 'rubric.keywords': a list of words")
    return RubricItem(points=float(pts), text=str(item["text"]),
                      keywords=tuple(str(k).lower() for k in keywords))


def _boxes(raw: Any, where: str, n_options: int) -> tuple[tuple[float, ...], ...]:
    if not isinstance(raw, list) or len(raw) != n_options:
        raise DefinitionError(f"{where}, field 'boxes': one [page, x, y, w, h] (mm) per option")
    out = []
    for b in raw:
        if not isinstance(b, list) or len(b) != 5 or any(
                isinstance(v, bool) or not isinstance(v, (int, float)) for v in b):
            raise DefinitionError(f"{where}, field 'boxes': each box is [page, x, y, w, h] in mm")
        out.append(tuple(float(v) for v in b))
    return tuple(out)


def _check_size(value: Any, where: str, name: str) -> None:
    count = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        count += 1
        if count > MAX_KEY_ENTRIES:
            raise DefinitionError(f"{where}, field '{name}': more than {MAX_KEY_ENTRIES} entries")
