"""Matrices: LaTeX environments (also OCR-broken ones like ``\\begin fomatrix}``), ``[[…]]``
lists, and plain rows of numbers (handwriting transcribed or OCR'd as lines)."""
from __future__ import annotations

import re

from grader.parse.latex import to_plain
from grader.parse.numbers import evaluate

_BEGIN = re.compile(r"\\begin\s*\{?\s*(?:[A-Za-z]{0,3}matrix|array)\s*\}?(?:\s*\{[^{}]*\})?")
_END = re.compile(r"\\end\s*\{?\s*(?:[A-Za-z]{0,3}matrix|array)\s*\}?")
_PY_LIST = re.compile(r"\[\s*\[[-+0-9.eE,\s\[\]/]*\]\s*\]")
_CELL_SPLIT = re.compile(r"\s*&\s*")
_ROW_LINE = re.compile(r"^[\s\[(|]*(-?\s?\d[\d.,/eE\-+\s]*?)[\s\])|]*$")

_NUMPY_POINT = re.compile(r"(?<=\d)\.$")
_ROW_BREAK = re.compile(r"\\\\|\\cr\b")
_RULES_AND_DOTS = re.compile(r"\\hline|\\(?:vdots|ddots|cdots|dots|ldots)")

Matrix = list[list[int | float]]


def _cell(text: str) -> int | float | None:
    text = to_plain(text).strip()
    text = _NUMPY_POINT.sub("", text)  # numpy prints "0." for 0.0
    return evaluate(text) if text else None


def _rows_from_latex(body: str) -> Matrix | None:
    rows: Matrix = []
    for row in _ROW_BREAK.split(body):
        row = _RULES_AND_DOTS.sub("", row).strip()
        if not row:
            continue
        cells = _CELL_SPLIT.split(row) if "&" in row else row.split()
        values = [_cell(c) for c in cells]
        if any(v is None for v in values):
            return None
        rows.append(values)  # type: ignore[arg-type]
    return rows or None


def latex_matrices(raw: str) -> list[tuple[Matrix | None, int, int]]:
    """(matrix or None when unreadable, start, end) for every environment, in order."""
    out = []
    pos = 0
    while True:
        b = _BEGIN.search(raw, pos)
        if not b:
            return out
        e = _END.search(raw, b.end())
        if not e:
            return out
        out.append((_rows_from_latex(raw[b.end():e.start()]), b.start(), e.end()))
        pos = e.end()


def list_matrices(raw: str) -> list[tuple[Matrix | None, int, int]]:
    out = []
    for m in _PY_LIST.finditer(raw):
        rows = []
        for row in re.findall(r"\[([^\[\]]*)\]", m.group(0)):
            vals = [_cell(c) for c in row.split(",") if c.strip()]
            rows.append(vals if all(v is not None for v in vals) else None)
        ok = rows and all(r is not None for r in rows)
        out.append((rows if ok else None, m.start(), m.end()))
    return out


def plain_row_matrices(raw: str) -> list[tuple[Matrix | None, int, int]]:
    """Consecutive lines that are only numbers (≥2 lines or ≥2 numbers): a matrix each block."""
    out, block, start, pos = [], [], -1, 0
    for line in raw.split("\n") + ["end"]:
        m = _ROW_LINE.match(line) if line.strip() else None
        nums = None
        if m:
            cells = [c for c in re.split(r"[\s,;]+", m.group(1).strip()) if c]
            vals = [_cell(c) for c in cells]
            nums = vals if vals and all(v is not None for v in vals) else None
        if nums is not None:
            if not block:
                start = pos
            block.append(nums)
        elif block and not line.strip():
            pass  # OCR puts blank lines between rows: a blank line does not end the block
        elif block:
            if len(block) >= 2 or len(block[0]) >= 2:
                out.append((block, start, pos - 1))
            block = []
        pos += len(line) + 1
    return out


# A transpose written right after a matrix: "^T", "^{T}", "^\top", "^{\intercal}" (not a
# MATLAB-style "'": it closes a quote as often).
_TRANSPOSE = re.compile(r"\s*\^\s*\{?\s*(?:T|\\top|\\intercal|\\mathsf\{T\}|\\mathrm\{T\})\s*\}?")


def transposed_if_marked(raw: str, found: tuple[Matrix | None, int, int]
                         ) -> tuple[Matrix | None, int, int]:
    """``found`` (a matrix at ``raw[start:end]``) as the student wrote it: transposed when a
    transpose mark follows it (``[[1, 2], [3, 4]]^T`` is [[1, 3], [2, 4]], not the matrix
    as printed), with the mark in its span."""
    rows, start, end = found
    mark = _TRANSPOSE.match(raw, end)
    if rows is None or mark is None or not is_rectangular(rows):
        return found
    return [list(column) for column in zip(*rows)], start, mark.end()


def find_matrices(raw: str) -> list[tuple[Matrix | None, int, int]]:
    found = latex_matrices(raw) or list_matrices(raw)
    return found if found else plain_row_matrices(raw)


def is_rectangular(rows: Matrix) -> bool:
    return bool(rows) and all(len(r) == len(rows[0]) for r in rows) and len(rows[0]) > 0


def shape_of(value: object) -> tuple[int, int] | None:
    if isinstance(value, list) and value and all(isinstance(r, list) for r in value) and is_rectangular(value):
        return len(value), len(value[0])
    return None
