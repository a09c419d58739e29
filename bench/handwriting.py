"""Handwritten answer regions: how many are graded automatically and right, how many are
flagged, how many would be silently misgraded, and what it costs.

    python -m bench.handwriting --pages 30 --seed 101
    python -m bench.handwriting --pages 60 --seed 7 --calibrate   # the tables and thresholds

The corpus is ``tools.handwriting_corpus`` (handwriting fonts from Debian packages other than
fonts-breip, real digits from even positions of scikit-learn's ``load_digits``; answer boxes
on pages scanned at 100-300 dpi), generated here from the seed, each region with the key its
question has (``keyed_corpus``: what is written, or a plausible wrong value). Each region's
ink (registered scan − blank) is resampled to the scan path's resolution (``--ink-dpi``),
cut into lines once, and the same cuts are read by the PP-OCRv6 recogniser and by Tesseract;
``choose_reading`` picks the text; ``grader.verify`` decides about the score against the key
(key / not_key / unsure, at the thresholds of the page's resolution; ``weigh``: with other
looks at the lines where the first leaves it unsure, as ``verify``); the text is parsed as
the question's kind and scored against the key. An answer is:

- **graded right**: not flagged (verified, and no parser flag) and given the score the
  writing deserves against the key;
- **silently wrong**: not flagged, and given another score (what no TA would ever see);
- **flagged**: sent to a TA (``low_confidence`` when the verification is unsure, or a parser
  or scorer flag).

The same reads are also graded by the exact text's sureness alone (``choose_reading``'s
``low_confidence``, the first session's rule), for comparison. Also printed: exact-read rates
per engine (normalised text equal to what was written; case ignored for hands that print
capitals), the verification's decisions and how often each was right, by kind and
resolution; the reliability curve of the verification (P(full marks) vs. the share that
deserve full marks) and of each engine (confidence vs. exact-read rate); the median time of
the whole handwritten path per region on one core (cut + both engines + choice +
verification + parse); the peak RSS of a fresh process with both engines loaded reading
regions. The calibration tables in ``grader.handwriting`` and the thresholds in
``grader.verify`` were measured with ``--calibrate`` on seed 7; the default seed here is
another one.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

BINS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 1.0001)
KIND_GROUPS = {"numeric": "numbers/shapes", "shape": "numbers/shapes", "values": "numbers/shapes",
               "expression": "expressions", "matrix": "matrices"}


def exact(read: str, truth: str, capitals: bool) -> bool:
    from grader.handwriting import normalise_reading

    a, b = normalise_reading(read), normalise_reading(truth)
    return a.casefold() == b.casefold() if capitals else a == b


def spec_for(region, key=None):
    from grader.types import QuestionSpec

    return QuestionSpec(label=region.label, number=region.label.split(".")[0], part=None,
                        kind=region.kind, points=1.0, key=region.value if key is None else key,
                        variables=tuple(region.variables), outputs=tuple(region.outputs))


def grade(spec, text: str, confidence: float, flagged: bool, truth_score: float) -> tuple[str, dict]:
    """'right' | 'wrong' (silently) | 'flagged' for ``text`` graded against ``spec.key``
    (``flagged``: the reader sends it to a TA), and what the parser saw."""
    from grader.expr import compare
    from grader.parse import parse_answer
    from grader.score import score_answer
    from grader.types import Flag, Parsed

    parsed = parse_answer(spec, text, confidence=confidence)
    if flagged:
        parsed = Parsed(parsed.value, parsed.evidence, parsed.confidence,
                        tuple(dict.fromkeys(parsed.flags + (Flag.LOW_CONFIDENCE,))), parsed.alternatives)
    scored = score_answer(spec, parsed, spec.key, expression_check=compare)
    right = abs(scored.score - truth_score) < 1e-9
    outcome = "flagged" if scored.needs_review else ("right" if right else "wrong")
    return outcome, {"value": parsed.value, "flags": list(scored.flags), "score": scored.score}


def truth_score(spec, value) -> float:
    """The score the written answer deserves against ``spec.key``."""
    from grader.expr import compare
    from grader.score import score_answer
    from grader.types import Parsed

    return score_answer(spec, Parsed(value), spec.key, expression_check=compare).score


def resample(ink, dpi: float, ink_dpi: float):
    """The region's ink at ``ink_dpi``, as the scan path cuts it (grader.ink: linear
    interpolation from the scan's own resolution)."""
    import cv2

    if not ink_dpi or abs(ink_dpi - dpi) < 1e-6:
        return ink
    factor = ink_dpi / dpi
    size = (max(1, round(ink.shape[1] * factor)), max(1, round(ink.shape[0] * factor)))
    return cv2.resize(ink, size, interpolation=cv2.INTER_LINEAR)


def measure(seed: int, pages: int, quiet: bool = False, ink_dpi: float = 200.0) -> list[dict]:
    from grader.expr import compare
    from grader.handwriting import (choose_reading, cut_lines, read_handwritten_region,
                                    read_region_tesseract, recogniser)
    from grader.verify import thresholds_for, weigh
    from tools.handwriting_corpus import keyed_corpus

    recogniser()                     # loaded before the clock, as in a worker
    compare("sqrt(3/n)", "sqrt(3/n)", ("n",))
    rows = []
    for page, keyed, native in keyed_corpus(seed, pages):
        region = keyed.region
        dpi = ink_dpi or page.dpi
        ink = resample(native, page.dpi, dpi)
        spec = spec_for(region, keyed.key)
        deserved = truth_score(spec, region.value)
        c0 = time.process_time()
        t0 = time.perf_counter()
        cuts = cut_lines(ink, dpi)
        t1 = time.perf_counter()
        hw = read_handwritten_region(ink, dpi, lines=cuts)
        t2 = time.perf_counter()
        ts = read_region_tesseract(ink, dpi, lines=cuts)
        t3 = time.perf_counter()
        choice = choose_reading(ts.reading(), hw.reading())
        found, verdict = weigh(spec, hw.lines, choice.text, thresholds_for(page.dpi),
                               others=(ts.text,), unseen=hw.unseen, expression_check=compare)
        t4 = time.perf_counter()
        taken = verdict.reading or choice.text     # repaired by the verification, or as chosen
        unsure = verdict.decision == "unsure"
        # As grader.pipeline parses it: a score verified as the key or not is sure whatever
        # the text's own sureness (Segment.score_sure).
        outcome, parsed = grade(spec, taken, choice.confidence if unsure else 1.0, unsure,
                                deserved)
        t5 = time.perf_counter()
        cpu = (time.process_time() - c0) * 1e3
        text_outcome, _ = grade(spec, choice.text, choice.confidence, choice.low_confidence, deserved)
        rows.append({
            "page": page.number, "label": region.label, "kind": region.kind, "hand": region.hand,
            "dpi": page.dpi, "truth": region.text, "capitals": region.capitals,
            "key": keyed.key, "key_right": keyed.right, "key_how": keyed.how, "deserved": deserved,
            "lines_written": len(region.lines), "lines_cut": len(cuts),
            "hw": hw.text, "hw_raw": hw.raw_confidence, "hw_cal": hw.reading().confidence,
            "ts": ts.text, "ts_raw": ts.raw_confidence, "ts_cal": ts.reading().confidence,
            "choice": choice.text, "choice_engine": str(choice.engine), "choice_conf": choice.confidence,
            "flagged_by_choice": choice.low_confidence, "reason": choice.reason,
            "hw_exact": exact(hw.text, region.text, region.capitals),
            "ts_exact": exact(ts.text, region.text, region.capitals),
            "choice_exact": exact(choice.text, region.text, region.capitals),
            "unseen": hw.unseen,
            "evidence": {"reads_as_key": found.reads_as_key, "p_key": found.p_key,
                         "p_full": found.p_full, "p_same": found.p_same, "blocked": found.blocked,
                         "not_key_blocked": found.not_key_blocked,
                         "p_malformed": found.p_malformed,
                         "key_given_answer": found.key_given_answer, "looks": found.looks},
            "decision": str(verdict.decision), "verify_reason": verdict.reason,
            "repaired": verdict.reading,
            "outcome": outcome, "text_outcome": text_outcome, "parsed": parsed,
            "ms": {"cut": (t1 - t0) * 1e3, "hw": (t2 - t1) * 1e3, "ts": (t3 - t2) * 1e3,
                   "verify": (t4 - t3) * 1e3, "parse": (t5 - t4) * 1e3,
                   "total": (t5 - t0) * 1e3, "cpu": cpu},
        })
        if not quiet and rows[-1]["outcome"] == "wrong":
            r = rows[-1]
            print(f"  silently wrong: {r['truth']!r} (key {r['key']!r}) read {r['choice']!r} "
                  f"({r['decision']}: {r['verify_reason']}) -> {r['parsed']}", flush=True)
    return rows


def reliability(rows: list[dict], conf_key: str, exact_key: str) -> list[tuple[str, int, float]]:
    out = []
    for lo, hi in zip(BINS, BINS[1:]):
        inside = [r for r in rows if lo <= r[conf_key] < hi]
        if inside:
            out.append((f"[{lo:.2f},{min(hi, 1):.2f}{')' if hi < 1 else ']'}", len(inside),
                        sum(r[exact_key] for r in inside) / len(inside)))
    return out


def calibration_table(rows: list[dict], conf_key: str, exact_key: str, points: int = 12
                      ) -> list[tuple[float, float]]:
    """(raw confidence, exact-read rate) knots: equal-count bins, made non-decreasing
    (pool adjacent violators), for ``grader.handwriting.CALIBRATION``."""
    ordered = sorted(rows, key=lambda r: r[conf_key])
    size = max(1, len(ordered) // points)
    blocks = [ordered[i:i + size] for i in range(0, len(ordered), size)]
    stats = [[statistics.mean(r[conf_key] for r in b), sum(r[exact_key] for r in b), len(b)] for b in blocks]
    merged: list[list[float]] = []
    for s in stats:
        merged.append(list(s))
        while len(merged) > 1 and merged[-2][1] / merged[-2][2] > merged[-1][1] / merged[-1][2]:
            b = merged.pop()
            a = merged.pop()
            n = a[2] + b[2]
            merged.append([(a[0] * a[2] + b[0] * b[2]) / n, a[1] + b[1], n])
    knots: list[tuple[float, float]] = []
    for c, k, n in merged:
        if knots and round(c, 4) <= knots[-1][0]:
            continue                       # np.interp needs increasing knots
        knots.append((round(c, 4), round(k / n, 4)))
    return knots


DPI_BANDS = (("100 dpi", 0, 130), ("150 dpi", 130, 180), ("200-300 dpi", 180, 1e9))


def rates(subset: list[dict], key: str = "outcome") -> dict:
    n = len(subset)
    if not n:
        return {"regions": 0}
    accepted = [r for r in subset if r[key] != "flagged"]
    return {
        "regions": n,
        "tesseract_exact": sum(r["ts_exact"] for r in subset) / n,
        "handwriting_exact": sum(r["hw_exact"] for r in subset) / n,
        "choice_exact": sum(r["choice_exact"] for r in subset) / n,
        "graded_right": sum(r[key] == "right" for r in subset) / n,
        "flagged": sum(r[key] == "flagged" for r in subset) / n,
        "silently_wrong": sum(r[key] == "wrong" for r in subset),
        "accepted_right": sum(r[key] == "right" for r in accepted) / max(1, len(accepted)),
    }


def decisions(subset: list[dict]) -> dict:
    """Verification decisions and how often each accepted one was right (the score it
    implies is the score the writing deserves)."""
    out = {}
    for name, deserved_full in (("key", True), ("not_key", False)):
        made = [r for r in subset if r["decision"] == name]
        right = sum((r["deserved"] >= 1 - 1e-9) == deserved_full for r in made)
        out[name] = {"made": len(made), "right": right}
    out["unsure"] = {"made": sum(r["decision"] == "unsure" for r in subset)}
    return out


def summary(rows: list[dict]) -> dict:
    groups: dict[str, dict[str, list[dict]]] = {"kind": defaultdict(list), "hand": defaultdict(list),
                                                "dpi": defaultdict(list)}
    for r in rows:
        groups["kind"][KIND_GROUPS[r["kind"]]].append(r)
        groups["hand"]["digits" if r["hand"] == "digits" else "fonts"].append(r)
        groups["dpi"][next(n for n, lo, hi in DPI_BANDS if lo <= r["dpi"] < hi)].append(r)
    totals = [r["ms"]["total"] for r in rows]
    cpu = [r["ms"]["cpu"] for r in rows]
    return {
        "all": rates(rows), "text_only": rates(rows, "text_outcome"),
        "decisions": decisions(rows),
        "by_kind": {k: rates(v) for k, v in sorted(groups["kind"].items())},
        "by_kind_text_only": {k: rates(v, "text_outcome") for k, v in sorted(groups["kind"].items())},
        "by_kind_decisions": {k: decisions(v) for k, v in sorted(groups["kind"].items())},
        "by_dpi": {k: rates(v) for k, v in groups["dpi"].items()},
        "by_dpi_decisions": {k: decisions(v) for k, v in groups["dpi"].items()},
        "by_hand": {k: rates(v) for k, v in sorted(groups["hand"].items())},
        "lines_cut_right": sum(r["lines_cut"] == r["lines_written"] for r in rows) / max(1, len(rows)),
        "median_ms_per_region": statistics.median(totals) if totals else None,
        "median_cpu_ms_per_region": statistics.median(cpu) if cpu else None,
        "p90_ms_per_region": sorted(totals)[int(len(totals) * 0.9)] if totals else None,
        "median_ms": {k: statistics.median(r["ms"][k] for r in rows)
                      for k in ("cut", "hw", "ts", "verify", "parse")},
    }


POSTERIOR_BINS = (0.0, 1e-4, 1e-3, 1e-2, 0.1, 0.5, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 1.0001)


def key_reliability(rows: list[dict]) -> list[tuple[str, int, float]]:
    """The recogniser's P(full marks) against how often the writing deserves full marks
    (regions whose reading parses cleanly): the reliability curve of the verification."""
    out = []
    usable = [r for r in rows if not r["evidence"]["blocked"]]
    for lo, hi in zip(POSTERIOR_BINS, POSTERIOR_BINS[1:]):
        inside = [r for r in usable if lo <= _p_full(r) < hi]
        if inside:
            out.append((f"[{lo:g},{min(hi, 1):g}{')' if hi < 1 else ']'}", len(inside),
                        sum(r["deserved"] >= 1 - 1e-9 for r in inside) / len(inside)))
    return out


def _p_full(r: dict) -> float:
    e = r["evidence"]
    return e["key_given_answer"] if e["reads_as_key"] else e["p_full"]


KEY_GRID = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999)
FULL_GRID = (1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6)
SAME_GRID = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995)
KEY_FLOOR, KEY_FLOOR_LOW_DPI = 0.9, 0.95


def _step(grid: tuple[float, ...], i: int, steps: int) -> float:
    return grid[min(i + steps, len(grid) - 1)]


def tune(rows: list[dict]) -> dict:
    """The thresholds ``rows`` support: the loosest under which no accepted decision is
    wrong (every resolution pooled: the bands are too small to tune alone, and no band may be
    looser than the others), then stricter as a margin for data not seen: one step on "the
    key" and P(same), two on P(full); one more step each below 130 dpi (and for an unknown
    resolution); "the key" never below KEY_FLOOR (KEY_FLOOR_LOW_DPI). What ships in
    grader.verify.THRESHOLDS may be stricter still (its comment says why)."""
    from grader.verify import Thresholds

    usable = [r for r in rows if not r["evidence"]["blocked"]]
    wrong_key = [r["evidence"]["key_given_answer"] for r in usable
                 if r["evidence"]["reads_as_key"] and r["deserved"] < 1 - 1e-9]
    k = next(i for i, t in enumerate(KEY_GRID) if all(p < t for p in wrong_key) or
             i == len(KEY_GRID) - 1)
    not_key = [r for r in usable if not r["evidence"]["reads_as_key"]
               and not r["evidence"]["not_key_blocked"]]
    best = (0, len(FULL_GRID) - 1, len(SAME_GRID) - 1)
    for i, full in enumerate(FULL_GRID):
        for j, same in enumerate(SAME_GRID):
            taken = [r for r in not_key if r["evidence"]["p_full"] <= full
                     and r["evidence"]["p_same"] >= same]
            if not any(r["deserved"] >= 1 - 1e-9 for r in taken) and len(taken) > best[0]:
                best = (len(taken), i, j)
    _, i, j = best
    # "The key" needs its forms to be overwhelmingly likely, whatever the data allows.
    return {"loosest": Thresholds(KEY_GRID[k], FULL_GRID[i], SAME_GRID[j]),
            "130 dpi and up": Thresholds(max(KEY_FLOOR, _step(KEY_GRID, k, 1)),
                                         _step(FULL_GRID, i, 2), _step(SAME_GRID, j, 1)),
            "below 130 dpi": Thresholds(max(KEY_FLOOR_LOW_DPI, _step(KEY_GRID, k, 2)),
                                        _step(FULL_GRID, i, 3), _step(SAME_GRID, j, 2)),
            "highest P(full) of a wrong answer read as the key": max(wrong_key, default=None)}


# A fresh process with both engines loaded, reading saved region images: its peak RSS.
MEMORY_CHILD = """
import sys, resource, numpy as np
from PIL import Image
import grader.pipeline, grader.ocr, grader.parse
from grader.handwriting import read_handwritten_region, read_region_tesseract, choose_reading, recogniser
def hwm():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM'):
            return int(line.split()[1]) / 1024
base = hwm()
recogniser()
for path in sys.argv[2:]:
    ink = np.asarray(Image.open(path).convert('L'))
    hw = read_handwritten_region(ink, float(sys.argv[1]))
    ts = read_region_tesseract(ink, float(sys.argv[1]), lines=hw.cuts)
    choose_reading(ts.reading(), hw.reading())
print(f'{base:.1f} {hwm():.1f}')
"""


def peak_rss(seed: int) -> dict:
    """VmHWM of a fresh process: after importing the grading core, and after loading both
    engines and reading a page's regions."""
    from PIL import Image

    from tools.handwriting_corpus import corpus

    with tempfile.TemporaryDirectory(prefix="hw-bench-") as tmp:
        paths, dpi = [], 300.0
        for page, region, ink in corpus(seed, 1, dpi=300):
            path = Path(tmp) / f"{region.label}.png"
            Image.fromarray(ink).save(path)
            paths.append(str(path))
        env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_THREAD_LIMIT="1")
        out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(dpi), *paths], cwd=ROOT,
                             env=env, capture_output=True, text=True, check=True).stdout.split()
    return {"core_mib": float(out[0]), "both_engines_mib": float(out[1])}


def _table(title: str, groups: list[tuple[str, dict]]) -> None:
    print(f"{title:22} {'regions':>7} {'tess':>6} {'ppocr':>6} {'graded right':>12} {'flagged':>8} "
          f"{'silently wrong':>14} {'accepted right':>14}")
    for name, r in groups:
        if r.get("regions"):
            print(f"{name:22} {r['regions']:>7} {r['tesseract_exact']:>6.1%} {r['handwriting_exact']:>6.1%} "
                  f"{r['graded_right']:>12.1%} {r['flagged']:>8.1%} {r['silently_wrong']:>14} "
                  f"{r['accepted_right']:>14.2%}")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=30, help="10 answer regions per page")
    ap.add_argument("--seed", type=int, default=101)
    ap.add_argument("--ink-dpi", type=float, default=200.0,
                    help="resample each region's ink to this resolution, as the scan path "
                         "does (grader.ink.INK_DPI); 0: the scan's own")
    ap.add_argument("--calibrate", action="store_true",
                    help="print the engines' calibration tables and the verification thresholds "
                         "this seed supports")
    ap.add_argument("--save", type=Path, help="write every region's record here (JSON)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    start = time.monotonic()
    rows = measure(args.seed, args.pages, quiet=args.quiet, ink_dpi=args.ink_dpi)
    result = summary(rows)
    if args.save:
        args.save.write_text(json.dumps(rows, indent=1, default=str))
    a = result["all"]
    keys_right = sum(r["key_right"] for r in rows)
    print(f"\n{a['regions']} handwritten regions ({args.pages} pages, seed {args.seed}; ink at "
          f"{args.ink_dpi:g} dpi; key = what is written in {keys_right}, a plausible wrong "
          f"value in {len(rows) - keys_right}); lines cut as written: {result['lines_cut_right']:.1%}")
    print(f"exact reads: tesseract {a['tesseract_exact']:.1%}, pp-ocrv6 {a['handwriting_exact']:.1%}, "
          f"choice {a['choice_exact']:.1%}")
    print("graded with the score verified against the key (grader.verify):")
    _table("", [("all", a), *result["by_kind"].items(), *result["by_dpi"].items(),
                *[(f"hand: {k}", v) for k, v in result["by_hand"].items()]])
    print("graded by the exact text's sureness alone (choose_reading; before verification):")
    _table("", [("all", result["text_only"]), *result["by_kind_text_only"].items()])
    for name, d in [("all", result["decisions"]), *result["by_kind_decisions"].items(),
                    *result["by_dpi_decisions"].items()]:
        print(f"  decisions {name:16} key {d['key']['right']}/{d['key']['made']} right, not key "
              f"{d['not_key']['right']}/{d['not_key']['made']} right, unsure {d['unsure']['made']}")
    m = result["median_ms"]
    print(f"time per region, one core: median {result['median_ms_per_region']:.0f} ms wall, "
          f"{result['median_cpu_ms_per_region']:.0f} ms CPU (the machine may be shared), "
          f"p90 {result['p90_ms_per_region']:.0f} ms (median cut {m['cut']:.1f}, pp-ocrv6 {m['hw']:.1f}, "
          f"tesseract {m['ts']:.1f}, verification {m['verify']:.1f}, parse {m['parse']:.1f} ms)")
    print("reliability of the verification (P(full marks) bin: regions, share deserving full marks):")
    print("  " + "  ".join(f"{b} {n}:{rate:.3f}" for b, n, rate in key_reliability(rows)))
    print("reliability of the engines (confidence bin: regions, exact-read rate):")
    for label, conf, ex in (("pp-ocrv6 calibrated", "hw_cal", "hw_exact"),
                            ("tesseract calibrated", "ts_cal", "ts_exact"),
                            ("choice", "choice_conf", "choice_exact")):
        curve = "  ".join(f"{b} {n}:{rate:.2f}" for b, n, rate in reliability(rows, conf, ex))
        print(f"  {label:22} {curve}")
    if args.calibrate:
        print("calibration tables (raw confidence, exact-read rate):")
        print("  pp-ocrv6 ", calibration_table(rows, "hw_raw", "hw_exact"))
        print("  tesseract", calibration_table(rows, "ts_raw", "ts_exact"))
        print("verification thresholds this seed supports (grader.verify.THRESHOLDS):")
        for name, value in tune(rows).items():
            print(f"  {name}: {value}")
    result["memory"] = peak_rss(args.seed)
    print(f"peak RSS of a fresh process: grading core imported {result['memory']['core_mib']:.0f} MiB; "
          f"with both engines loaded, after reading a page's regions {result['memory']['both_engines_mib']:.0f} MiB")
    print(f"took {time.monotonic() - start:.0f} s")
    return result


if __name__ == "__main__":
    main()
