"""`make bench`'s course bench still runs against the current models (it builds its course
with the ORM directly, so a model change can break it without any other test noticing)."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_course_scale_bench_runs_small():
    code = ("import json, sys; from bench.course_scale import main; "
            "print(json.dumps(main(['--students', '20', '--resubmissions', '2', '--questions', '3'])))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["size"].endswith("= 120 answers")
    assert set(result["ops"]) >= {"results_csv", "question_stats", "release_check"}
