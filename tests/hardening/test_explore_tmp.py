import pytest, time
from exams import services
from exams.models import Submission

@pytest.mark.django_db(transaction=True)
def test_explore(bad_inputs, ai6126_exam, settings, typed_sample):
    settings.GRADER_OCR_TIMEOUT_S = 2
    for kind, path in [("REF", typed_sample)] + sorted(bad_inputs.items()):
        t = time.time()
        s = services.submission_create(exam=ai6126_exam, student=kind, content=path.read_bytes())
        s.refresh_from_db()
        print(f"{kind:<24} {s.status:<13} {s.score} {time.time()-t:5.1f}s  {s.error}  ",
              [(a.question.label, a.status, a.flags) for a in s.answers.all()][:3] if kind in ("REF","odd_encodings","blank_scan") else "")
