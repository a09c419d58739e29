"""Stored files are opened only through Django's storage API (exams.files): no code reads a
FieldFile's ``.path``, which exists only for the local folder and breaks object storage."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("exams", "grader", "worker", "config", "rubrics")
# `x.path` is allowed only on these receivers: the os/sys modules, a request's URL path, and
# the storage itself inside exams.files / exams.health (a local folder's own path, asked of
# the storage API, which object storage answers with NotImplementedError).
ALLOWED = {"os", "sys", "request"}
ALLOWED_IN = {"exams/files.py": {"field_file.storage"}, "exams/health.py": {"storage"}}


def path_uses(source: str) -> list[tuple[int, str]]:
    """(line, receiver) of every ``receiver.path`` attribute access in ``source``."""
    return sorted((node.lineno, ast.unparse(node.value)) for node in ast.walk(ast.parse(source))
                  if isinstance(node, ast.Attribute) and node.attr == "path")


def test_the_check_sees_field_file_paths():
    uses = path_uses("a = submission.file.path\nb = os.path.join(x)\n"
                     "c = render(exam.blank_pdf.path, 0)\nd = getattr(f, 'name')\n")
    assert [receiver for _, receiver in uses] == ["submission.file", "os", "exam.blank_pdf"]


def test_no_code_opens_a_stored_file_by_its_local_path():
    offenders = []
    for package in PACKAGES:
        for file in sorted((ROOT / package).rglob("*.py")):
            relative = file.relative_to(ROOT).as_posix()
            allowed = ALLOWED | ALLOWED_IN.get(relative, set())
            offenders += [f"{relative}:{line}: {receiver}.path"
                          for line, receiver in path_uses(file.read_text(encoding="utf-8"))
                          if receiver not in allowed]
    assert not offenders, ("open stored files with exams.files.local_copy/local_path or "
                           "field_file.open(), not .path:\n" + "\n".join(offenders))
