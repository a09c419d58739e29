"""Bad exam definitions through the real command (`python manage.py load_exam`, a separate
process): exit code 1 and one message naming the question and the field; nothing stored.

The YAML bomb runs under an address-space limit, so an unprotected parser fails this test
with a MemoryError instead of taking the test machine down.
"""
from __future__ import annotations

import resource
import subprocess
import sys
import textwrap

import pytest

from tests.integration.realservices import ROOT, manage, project_env

GOOD_PART = """\
  - number: "1"
    parts:
      - part: a
        kind: numeric
        points: 2
        solver: receptive_field
        params: {layers: [{kernel: 3, stride: 1}, {kernel: 5, stride: 2}]}
"""


def exam(questions: str, header: str = "code: BAD-1\ntitle: Bad\n") -> str:
    return header + "questions:\n" + textwrap.dedent(questions)


# A nine-level "billion laughs": 9^9 = 387 million strings once the aliases are expanded,
# in 400 bytes. yaml.safe_load shares the aliased objects (cheap), but anything that walks or
# serialises the data (str(), the JSONField holding the definition) expands it.
def _bomb(levels: int = 9) -> str:
    lines, prev = [], '"lol"'
    for name in "abcdefghi"[:levels]:
        lines.append(f"{name}: &{name} [{', '.join([prev] * 9)}]")
        prev = "*" + name
    return "\n".join(lines) + "\n"


BOMB = _bomb()

CASES: dict[str, tuple[bytes, str]] = {
    "points_wrong_type": (exam("""\
  - number: "1"
    kind: numeric
    points: two
    answer: 3
""").encode(), r"question 1, field 'points'"),
    "kind_unknown": (exam("""\
  - number: "2"
    kind: essay
    points: 1
""").encode(), r"question 2, field 'kind': 'essay' is not one of"),
    "solver_unknown": (exam("""\
  - number: "3"
    parts:
      - part: b
        kind: numeric
        points: 1
        solver: receptive_feild
        params: {layers: []}
""").encode(), r"question 3\.b.*solver.*receptive_feild"),
    "solver_bad_params": (exam("""\
  - number: "4"
    kind: shape
    points: 1
    solver: conv2d_output_shape
    params: {input_shape: [26, 26, 26], out_channels: 5, kernel_size: -7, stride: 0}
""").encode(), r"question 4.*(param|kernel_size|stride)"),
    "points_missing": (exam("""\
  - number: "5"
    kind: numeric
    answer: 3
""").encode(), r"question 5, field 'points': required"),
    "duplicate_labels": (exam(GOOD_PART + GOOD_PART).encode(), r"question 1\.a: duplicate label"),
    "huge_matrix": (exam("""\
  - number: "6"
    kind: matrix
    points: 1
    answer: [%s]
""" % ", ".join(["[" + ", ".join(["1"] * 200) + "]"] * 200)).encode(),
        r"question 6, field 'answer': more than 10000 entries"),
    "not_utf8": (exam("""\
  - number: "7"
    title: "Stra\xdfe"
    kind: numeric
    points: 1
    answer: 3
""").encode("latin-1"), r"not a UTF-8 text file"),
    "yaml_bomb": ((BOMB + "code: BOMB\ntitle: bomb\nnotes: *i\n" + exam(GOOD_PART, header=""))
                  .encode(), r"(alias|expands)"),
    "blank_pdf_escapes_folder": (exam(GOOD_PART, header="code: BAD-8\nblank_pdf: ../../etc/passwd\n")
                                 .encode(), r"field 'blank_pdf': must be a path inside"),
    "blank_pdf_absolute": (exam(GOOD_PART, header="code: BAD-9\nblank_pdf: /etc/passwd\n").encode(),
                           r"field 'blank_pdf': must be a path inside"),
    # 50,000 nested flow lists: PyYAML's composer recurses once per level (RecursionError).
    "deeply_nested": (("code: DEEP\nnotes: " + "[" * 50_000 + "]" * 50_000 + "\n"
                       + exam(GOOD_PART, header="")).encode(), r"(nested|not valid YAML)"),
    "not_yaml": (b"code: X\nquestions: [\n  - {number: 1,\n", r"not valid YAML"),
}


@pytest.fixture(scope="module")
def sqlite_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("load_exam")
    env = project_env(tmp)
    manage(env, "migrate", "--noinput")
    return env


def _limit_memory() -> None:  # runs in the child, before exec
    limit = 1_500 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_definition_is_refused_readably(case, sqlite_env, tmp_path):
    import re

    content, pattern = CASES[case]
    path = tmp_path / "exam.yaml"
    path.write_bytes(content)
    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), "load_exam", str(path)],
                            env=sqlite_env, cwd=ROOT, capture_output=True, text=True, timeout=120,
                            preexec_fn=_limit_memory)
    message = result.stderr.strip()
    assert result.returncode == 1, (case, result.returncode, result.stdout, message[-2000:])
    assert "Traceback" not in message, message[-2000:]
    assert message.startswith("CommandError: "), message
    assert re.search(pattern, message), (case, message)
    # Nothing stored: the exam does not exist afterwards.
    import sqlite3

    db = sqlite_env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT code FROM exams_exam").fetchall() == []
