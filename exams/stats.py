"""Per-question statistics of an exam and histogram images (Pillow only: a PNG of a few bars
does not justify matplotlib in the web image)."""
from __future__ import annotations

import io
import statistics
from dataclasses import asdict, dataclass

from PIL import Image, ImageDraw, ImageFont

from exams.models import Answer, Exam, Submission
from grader.types import INFORMATIONAL_FLAGS
from exams.policies import counting_submissions


BINS = 10


@dataclass
class QuestionStats:
    label: str
    kind: str
    points: float
    answered: int           # answers of finished submissions
    mean: float | None
    median: float | None
    stdev: float | None
    full_marks: float | None   # share of answers with full points
    zero: float | None
    flag_rate: float | None    # share the machine was unsure of (non-informational flags)
    reviewed: int              # answers a TA decided
    histogram: list[int]       # counts per bin over [0, points]

    def as_dict(self) -> dict:
        return asdict(self)


def histogram(values: list[float], top: float, bins: int = BINS) -> list[int]:
    """Counts over ``bins`` equal bins of [0, top]; the top value falls in the last bin."""
    counts = [0] * bins
    if top <= 0:
        return counts
    for v in values:
        i = int(min(max(v, 0.0), top) / top * bins)
        counts[min(i, bins - 1)] += 1
    return counts


def _share(n: int, total: int) -> float | None:
    return round(n / total, 4) if total else None


def question_stats(exam: Exam) -> list[QuestionStats]:
    """Over the submission that counts of each student (exams.policies)."""
    answers = (Answer.objects.filter(submission__in=counting_submissions(exam),
                                     submission__status__in=Submission.SCORED)
               .values_list("question_id", "score", "max_score", "flags", "status"))
    by_question: dict[int, list[tuple]] = {}
    for row in answers:
        by_question.setdefault(row[0], []).append(row)
    result = []
    for q in exam.questions.active().order_by("order"):
        rows = by_question.get(q.pk, [])
        scores = [r[1] for r in rows]
        n = len(scores)
        unsure = sum(1 for r in rows if set(r[3] or ()) - INFORMATIONAL_FLAGS)
        result.append(QuestionStats(
            label=q.label, kind=q.kind, points=q.points, answered=n,
            mean=round(statistics.fmean(scores), 4) if n else None,
            median=round(statistics.median(scores), 4) if n else None,
            stdev=round(statistics.pstdev(scores), 4) if n else None,
            full_marks=_share(sum(1 for r in rows if r[1] >= r[2] > 0), n),
            zero=_share(sum(1 for s in scores if s == 0), n),
            flag_rate=_share(unsure, n),
            reviewed=sum(1 for r in rows if r[4] == Answer.Status.REVIEWED),
            histogram=histogram(scores, q.points)))
    return result


def total_scores(exam: Exam) -> list[float]:
    return [s for s in counting_submissions(exam).filter(status__in=Submission.SCORED)
            .values_list("score", flat=True) if s is not None]


def histogram_png(counts: list[int], top: float, title: str,
                  size: tuple[int, int] = (420, 220)) -> bytes:
    """A bar chart of ``counts`` over [0, top] as PNG bytes."""
    width, height = size
    left, right, top_pad, bottom = 34, 10, 24, 28
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    draw.text((left, 5), title, fill="black", font=font)
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    peak = max(counts) if counts and max(counts) > 0 else 1
    bar_w = plot_w / max(len(counts), 1)
    base_y = top_pad + plot_h
    for i, c in enumerate(counts):
        h = plot_h * c / peak
        x0 = left + i * bar_w
        if c:
            draw.rectangle([x0 + 1, base_y - h, x0 + bar_w - 2, base_y], fill="#417690")
            draw.text((x0 + bar_w / 2 - 3, base_y - h - 12), str(c), fill="black", font=font)
    draw.line([left, top_pad, left, base_y, left + plot_w, base_y], fill="black")
    draw.text((4, top_pad - 4), str(peak), fill="black", font=font)
    draw.text((left - 4, base_y + 4), "0", fill="black", font=font)
    draw.text((left + plot_w - 16, base_y + 4), f"{top:g}", fill="black", font=font)
    draw.text((left + plot_w / 2 - 14, base_y + 14), "score", fill="gray", font=font)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()
