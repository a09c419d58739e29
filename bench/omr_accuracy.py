"""OMR accuracy benchmark through the full path: simulated pen marks on the rendered blank
exam -> scanner effects -> register the page to the template found on the blank PDF ->
classify every template box. Prints accuracy among decided boxes, wrong decisions on
filled / filled_recrossed boxes, the uncertain rate and a confusion matrix, overall and per
scan effect.

    python -m bench.omr_accuracy --boxes 2000 --seed 1

Targets: >= 99.9 % correct among decided boxes, 0 wrong decisions where the truth is
filled or filled_recrossed, <= 1 % uncertain.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.omr import MARKS, assign_options, read_template_boxes, template_from_pdf
from tools.scansim import random_marks, render_student_page
from tools.scansim_layout import QUESTIONS, exam_layout, write_blank_pdf
from tools.scansim_marks import random_scan_params


@dataclass
class Outcome:
    truth: str
    mark: str
    uncertain: bool
    effects: tuple[str, ...]
    detail: str = ""


@dataclass
class BenchResult:
    outcomes: list[Outcome] = field(default_factory=list)
    pages: int = 0
    pages_not_ok: int = 0

    def subset(self, effect: str) -> "BenchResult":
        return BenchResult([o for o in self.outcomes if effect in o.effects])

    @property
    def decided(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.uncertain]

    @property
    def accuracy(self) -> float:
        d = self.decided
        return sum(o.mark == o.truth for o in d) / len(d) if d else 1.0

    @property
    def checked_accuracy(self) -> float:
        chk = {"empty": False, "cross": True, "filled": False, "filled_recrossed": True}
        d = self.decided
        return sum(chk[o.mark] == chk[o.truth] for o in d) / len(d) if d else 1.0

    @property
    def wrong_filled(self) -> int:
        return sum(o.mark != o.truth for o in self.decided if o.truth.startswith("filled"))

    @property
    def uncertain_rate(self) -> float:
        return sum(o.uncertain for o in self.outcomes) / len(self.outcomes) if self.outcomes else 0.0

    def confusion(self) -> Counter:
        return Counter((o.truth, "uncertain" if o.uncertain else o.mark) for o in self.outcomes)


def _effects(p) -> tuple[str, ...]:
    tags = [f"dpi{int(p.dpi)}"]
    tags.append("upside_down" if p.upside_down else ("rot>3" if abs(p.rotation) > 3 else "rot<=3"))
    tags += ["blur>0.8"] if p.blur > 0.8 else []
    tags += ["noise>6"] if p.noise > 6 else []
    tags += ["jpeg<=55"] if 0 < p.jpeg <= 55 else []
    tags += ["shadow>0.2"] if p.shadow > 0.2 else []
    tags += ["scale_err>2%"] if abs(p.scale - 1) > 0.02 else []
    return tuple(tags)


def run(n_boxes: int, seed: int, progress: bool = False) -> BenchResult:
    layout = exam_layout()
    rng = np.random.default_rng(seed)
    result = BenchResult()
    with tempfile.TemporaryDirectory() as tmp:
        blank = Path(tmp) / "blank.pdf"
        write_blank_pdf(layout, blank)
        template = assign_options(template_from_pdf(blank),
                                  [(f"1.{q[0]}", len(q[3])) for q in QUESTIONS])
        mc_pages = sorted({b.page for b in layout.boxes})
        while len(result.outcomes) < n_boxes:
            marks = random_marks(layout, rng)
            truth = {(m.label, m.option): m for m in marks}
            for page in mc_pages:
                params = random_scan_params(rng)
                img = render_student_page(blank, layout, page, marks, params, rng)
                entries = [(label, i + 1, t) for label, boxes in template.items()
                           for i, t in enumerate(boxes) if t.page == page]
                reg, readings = read_template_boxes(np.asarray(img), params.dpi, [e[2] for e in entries])
                result.pages += 1
                result.pages_not_ok += not reg.ok
                tags = _effects(params)
                for (label, option, _), r in zip(entries, readings):
                    t = truth[(label, option)]
                    f = r.features
                    result.outcomes.append(Outcome(
                        t.mark, r.mark, r.uncertain or not reg.ok, tags,
                        f"{label}#{option} {t.style} ink={f.ink:.3f} filled={f.filled:.2f} "
                        f"left={f.left:.3f} reg={reg.ok} {params.as_dict()}"))
                if progress:
                    print(f"\r{len(result.outcomes)} boxes", end="", file=sys.stderr)
    if progress:
        print(file=sys.stderr)
    return result


def report(result: BenchResult, show_errors: bool = True) -> str:
    lines = [f"boxes {len(result.outcomes)} on {result.pages} pages "
             f"({result.pages_not_ok} pages failed registration)",
             f"accuracy among decided (mark)    {100 * result.accuracy:.3f} %",
             f"accuracy among decided (checked) {100 * result.checked_accuracy:.3f} %",
             f"wrong decisions on filled/filled_recrossed: {result.wrong_filled}",
             f"uncertain rate {100 * result.uncertain_rate:.2f} %", "", "confusion (truth -> read):"]
    conf = result.confusion()
    cols = list(MARKS) + ["uncertain"]
    lines.append(f"{'':>18}" + "".join(f"{c:>18}" for c in cols))
    for t in MARKS:
        lines.append(f"{t:>18}" + "".join(f"{conf.get((t, c), 0):>18}" for c in cols))
    lines += ["", f"{'effect':<14}{'boxes':>7}{'acc %':>9}{'unc %':>7}{'wrong filled':>14}"]
    tags = sorted({t for o in result.outcomes for t in o.effects})
    for tag in tags:
        sub = result.subset(tag)
        lines.append(f"{tag:<14}{len(sub.outcomes):>7}{100 * sub.accuracy:>9.2f}"
                     f"{100 * sub.uncertain_rate:>7.2f}{sub.wrong_filled:>14}")
    if show_errors:
        bad = [o for o in result.outcomes if o.uncertain or o.mark != o.truth]
        if bad:
            lines += ["", "errors and uncertain boxes:"]
            lines += [f"  {o.truth:>16} -> {'?' + o.mark if o.uncertain else o.mark:<17} {o.detail}"
                      for o in bad[:60]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--boxes", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quiet", action="store_true", help="no list of individual errors")
    args = ap.parse_args(argv)
    result = run(args.boxes, args.seed, progress=True)
    print(report(result, show_errors=not args.quiet))
    met = result.accuracy >= 0.999 and result.wrong_filled == 0 and result.uncertain_rate <= 0.01
    print("\ntargets met" if met else "\ntargets NOT met")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
