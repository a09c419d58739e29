"""A printed exam with written answer spaces, as instructors hand it out: the blank PDF (vector,
with a text layer), its exam YAML, and where each answer space is (the truth the answer-region
finder is measured against); and students' copies of it, filled in by hand and scanned.

Questions come from the seed documents (a receptive field, a convolution's output shape, an
RNN's parameter count, Xavier's bound, an RNN's hidden states) plus two multiple-choice
questions with printed boxes. Most parts have a drawn answer frame; part 1.c has none (its
answer space is the room down to the next printed line), as many real exams do.

    python -m tools.written_exam --out /tmp/written      # blank.pdf + exam.yaml + layout.json
    python -m tools.written_exam --out /tmp/written --students 6 --seed 3

A student answers each written part right, wrong, not at all, or with an illegible scribble,
in one hand (a handwriting font or scikit-learn's real digits, ``tools.handwriting_corpus``),
crosses multiple-choice boxes, and the copy is scanned (``tools.scansim_marks``: 100-300 dpi,
rotation, scale, blur, noise, JPEG, shadow; some pages upside down, some copies with their
pages out of order). ``truth.json`` says, per student and part, what was written and the
score it deserves.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from reportlab.pdfbase.pdfmetrics import stringWidth

PAGE_W_MM, PAGE_H_MM = 210.0, 297.0
PT_PER_MM = 72.0 / 25.4
LEFT_MM, TEXT_X_MM, RIGHT_MM = 20.0, 27.0, 190.0
BOX_MM = 5.0
CODE = "DL-WRITTEN"
FOOTER = "DL-WRITTEN-2026"


@dataclass(frozen=True)
class Part:
    number: str
    part: str
    prompt: str
    kind: str
    points: float
    frame_mm: float | None          # height of the drawn answer frame; None: no frame
    yaml: str                       # the part's key lines in the exam file
    options: tuple[str, ...] = ()


PARTS: tuple[Part, ...] = (
    Part("1", "a", "A CNN has three layers: kernel 3 stride 1, kernel 5 stride 2, kernel 5 "
                   "stride 1. What is the receptive field of one output unit of the third layer?",
         "numeric", 2, 24, "solver: receptive_field\n"
         "        params: {layers: [{kernel: 3, stride: 1}, {kernel: 5, stride: 2}, {kernel: 5, stride: 1}]}"),
    Part("1", "b", "An input of 26x26x26 goes through a convolution with 5 filters of size 7x7, "
                   "stride 3 and padding 1. What is the output shape (H x W x C)?",
         "shape", 2, 24, "solver: conv2d_output_shape\n"
         "        params: {input_shape: [26, 26, 26], out_channels: 5, kernel_size: 7, stride: 3, padding: 1}"),
    Part("1", "c", "How many parameters does a vanilla RNN cell with input size 3 and hidden "
                   "size 5 have, biases included?",
         "numeric", 2, None, "solver: param_count\n"
         "        params: {layer: rnn, input_size: 3, hidden_size: 5}"),
    Part("2", "a", "Xavier initialisation draws weights uniformly from [-a, a]. Give a as a "
                   "function of the number of inputs n.",
         "expression", 3, 26, 'answer: "sqrt(3/n)"\n        variables: [n]'),
    Part("2", "b", "A ReLU RNN with V = -3, W = 3, h0 = 0 reads x = (2, 3, 1). Give h2 and h3.",
         "values", 2, 30, "solver: rnn_forward\n"
         "        params: {activation: relu, V: -3, W: 3, h0: 0, x: [2, 3, 1]}\n"
         "        outputs: [h2, h3]"),
    Part("3", "a", "Which of the following activation functions can lead to vanishing gradients?",
         "multiple_choice", 2, None, "correct: [3, 4]",
         ("ReLU.", "Leaky ReLU.", "Tanh.", "Sigmoid.")),
    Part("3", "b", "Which of the following have trainable parameters?",
         "multiple_choice", 2, None, "correct: [3]",
         ("Max pooling", "Dropout", "Batch normalization", "Leaky ReLU")),
)
TITLES = {"1": "Convolutions and recurrent networks", "2": "Initialisation",
          "3": "Multiple choice (cross the correct boxes)"}
PAGE_OF = {"1": 1, "2": 2, "3": 2}


@dataclass(frozen=True)
class Text:
    page: int
    x: float
    y: float          # baseline, mm from the top
    size: float
    text: str
    bold: bool = False


@dataclass(frozen=True)
class Rect:
    page: int
    x: float
    y: float
    w: float
    h: float
    label: str = ""
    option: int = 0   # > 0: a checkbox


def _wrap(text: str, size: float, width_mm: float) -> list[str]:
    words, lines, current = text.split(), [], ""
    for word in words:
        trial = f"{current} {word}".strip()
        if stringWidth(trial, "Helvetica", size) / PT_PER_MM <= width_mm or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    return lines + ([current] if current else [])


def layout() -> tuple[list[Text], list[Rect], dict[str, dict]]:
    """Printed texts, rectangles (frames and checkboxes) and the true answer space per label
    (a frame's inside, or for an unframed part the room below its prompt)."""
    texts: list[Text] = []
    rects: list[Rect] = []
    spaces: dict[str, dict] = {}
    y = {1: 24.0, 2: 24.0}
    texts.append(Text(1, LEFT_MM, 14, 9, "Name: ______________________   Student id: __________"))
    seen: set[str] = set()
    for part in PARTS:
        page = PAGE_OF[part.number]
        if part.number not in seen:
            seen.add(part.number)
            texts.append(Text(page, LEFT_MM, y[page], 12, f"Problem {part.number}   "
                                                          f"{TITLES[part.number]}", bold=True))
            y[page] += 9
        label = f"{part.number}.{part.part}"
        texts.append(Text(page, LEFT_MM, y[page], 10, f"{part.part})", bold=True))
        for line in _wrap(part.prompt, 10, RIGHT_MM - TEXT_X_MM):
            texts.append(Text(page, TEXT_X_MM, y[page], 10, line))
            y[page] += 5
        if part.options:
            y[page] += 2
            for option, text in enumerate(part.options, start=1):
                rects.append(Rect(page, TEXT_X_MM, y[page] - BOX_MM / 2 - 1.2, BOX_MM, BOX_MM,
                                  label, option))
                texts.append(Text(page, TEXT_X_MM + 8, y[page], 10, text))
                y[page] += 7.5
            y[page] += 4
        elif part.frame_mm:
            top = y[page] - 1
            rects.append(Rect(page, TEXT_X_MM, top, RIGHT_MM - TEXT_X_MM, part.frame_mm, label))
            spaces[label] = {"page": page, "x": TEXT_X_MM, "y": top, "w": RIGHT_MM - TEXT_X_MM,
                             "h": part.frame_mm, "frame": True}
            y[page] = top + part.frame_mm + 9
        else:
            top = y[page] - 2.5
            y[page] += 26
            spaces[label] = {"page": page, "x": TEXT_X_MM, "y": top, "w": RIGHT_MM - TEXT_X_MM,
                             "h": y[page] - 7 - top, "frame": False}
    for page in (1, 2):
        texts.append(Text(page, LEFT_MM, PAGE_H_MM - 12, 8, f"{FOOTER}  page {page} of 2"))
    return texts, rects, spaces


def write_blank_pdf(path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    texts, rects, _ = layout()
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    c.setTitle(f"{CODE} (simulated blank)")
    height = A4[1]
    for page in (1, 2):
        for t in (t for t in texts if t.page == page):
            c.setFont("Helvetica-Bold" if t.bold else "Helvetica", t.size)
            c.drawString(t.x * PT_PER_MM, height - t.y * PT_PER_MM, t.text)
        for r in (r for r in rects if r.page == page):
            c.setLineWidth((0.3 if r.option else 0.5) * PT_PER_MM)
            c.rect(r.x * PT_PER_MM, height - (r.y + r.h) * PT_PER_MM, r.w * PT_PER_MM,
                   r.h * PT_PER_MM, stroke=1, fill=0)
        c.showPage()
    c.save()


def exam_yaml(blank_pdf: str = "blank.pdf") -> str:
    lines = [f"code: {CODE}", "title: Deep learning, written exam (simulated)",
             f"blank_pdf: {blank_pdf}", "questions:"]
    for number in TITLES:
        lines += [f'  - number: "{number}"', f"    title: {TITLES[number]}", "    parts:"]
        for part in (p for p in PARTS if p.number == number):
            lines += [f"      - part: {part.part}", f"        title: \"{part.prompt}\"",
                      f"        kind: {part.kind}", f"        points: {part.points:g}"]
            if part.options:
                lines.append("        options: [" + ", ".join(f'"{o}"' for o in part.options) + "]")
            lines.append("        " + part.yaml)
    return "\n".join(lines) + "\n"


def generate(out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    write_blank_pdf(out / "blank.pdf")
    (out / "exam.yaml").write_text(exam_yaml())
    _, rects, spaces = layout()
    truth = {"code": CODE, "spaces": spaces,
             "boxes": [asdict(r) for r in rects if r.option]}
    (out / "layout.json").write_text(json.dumps(truth, indent=1))
    return truth


# What each written part's answer looks like: (right, wrong) variants as written lines.
WRITTEN: dict[str, tuple[str, object, tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]]] = {
    "1.a": ("numeric", 15, (("15",), ("RF = 15",)), (("13",), ("11",))),
    "1.b": ("shape", [8, 8, 5], (("8 x 8 x 5",), ("8×8×5",), ("(8, 8, 5)",)),
            (("9 x 9 x 5",), ("8 x 8 x 7",))),
    "1.c": ("numeric", 45, (("45",),), (("40",), ("35",))),
    "2.a": ("expression", "sqrt(3/n)", (("sqrt(3/n)",), ("a = √(3/n)",)),
            (("sqrt(1/n)",), ("sqrt(2/n)",))),
    "2.b": ("values", {"h2": 0, "h3": 3}, (("h2 = 0", "h3 = 3"),), (("h2 = 6", "h3 = 3"),)),
}
OUTCOMES = ("right", "wrong", "empty", "scribble")
OUTCOME_P = (0.55, 0.2, 0.15, 0.1)
CHOICE_KEYS = {"3.a": [3, 4], "3.b": [3]}


def _scribble(rng, ppmm: float) -> "np.ndarray":
    """Ink coverage of an illegible scribble: a few looping strokes."""
    import numpy as np
    from PIL import Image, ImageDraw

    w, h = int(rng.uniform(18, 45) * ppmm), int(rng.uniform(5, 10) * ppmm)
    image = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 5))):
        xs = np.linspace(0, w - 1, 24)
        ys = h / 2 + np.cumsum(rng.normal(0, h / 6, 24))
        ys = np.clip(ys, 1, h - 2)
        draw.line(list(zip(xs.tolist(), ys.tolist())), fill=255,
                  width=max(1, int(0.35 * ppmm)), joint="curve")
    return np.asarray(image, dtype=np.float32) / 255.0


def _write(page, coverage, box: dict, pen: int, rng, ppmm: float) -> None:
    """Ink ``coverage`` into the answer space ``box`` (mm) of ``page`` (in place)."""
    import numpy as np
    from PIL import Image

    room_w, room_h = (box["w"] - 6) * ppmm, (min(box["h"], 30) - 4) * ppmm
    factor = min(1.0, room_w / coverage.shape[1], room_h / coverage.shape[0])
    if factor < 1.0:
        size = (max(1, int(coverage.shape[1] * factor)), max(1, int(coverage.shape[0] * factor)))
        coverage = np.asarray(Image.fromarray((coverage * 255).astype(np.uint8)).resize(
            size, Image.BILINEAR), dtype=np.float32) / 255.0
    x = int((box["x"] + 3) * ppmm + rng.uniform(0, max(0.0, room_w - coverage.shape[1]) * 0.5))
    y = int((box["y"] + 2) * ppmm + rng.uniform(0, max(0.0, room_h - coverage.shape[0]) * 0.6))
    patch = np.asarray(page.crop((x, y, x + coverage.shape[1], y + coverage.shape[0])),
                       dtype=np.float32)
    written = patch * (1 - coverage) + pen * coverage
    page.paste(Image.fromarray(np.clip(written, 0, 255).astype(np.uint8)), (x, y))


def fill(folder: Path, student: int, seed: int, *, dpi: float | None = None,
         outcomes: dict[str, str] | None = None) -> dict:
    """One student's copy of the exam in ``folder`` (made by ``generate``), filled in by hand
    and scanned into ``student_NN.pdf``; returns its truth."""
    import numpy as np

    from tools.handwriting_corpus import Answer, sample_hand, write_answer
    from tools.scansim import images_to_pdf
    from tools.scansim_marks import apply_scan, draw_mark, random_scan_params

    rng = np.random.default_rng([seed, student])
    truth = json.loads((folder / "layout.json").read_text())
    dpi = float(dpi if dpi is not None else rng.choice([100, 150, 200, 300]))
    ppmm = dpi / 25.4
    hand = sample_hand(rng, ppmm)
    parts: dict[str, dict] = {}
    for label, (kind, value, right, wrong) in WRITTEN.items():
        outcome = (outcomes or {}).get(label) or str(rng.choice(OUTCOMES, p=OUTCOME_P))
        lines = ()
        if outcome in ("right", "wrong"):
            variants = right if outcome == "right" else wrong
            lines = variants[int(rng.integers(0, len(variants)))]
        points = next(p.points for p in PARTS if f"{p.number}.{p.part}" == label)
        parts[label] = {"kind": kind, "outcome": outcome, "lines": list(lines),
                        "score": points if outcome == "right" else 0.0}
    choices = {label: sorted(int(o) for o in range(1, 5) if rng.random() < 0.45)
               for label in CHOICE_KEYS}
    if rng.random() < 0.5:
        choices = {**choices, **{k: v for k, v in CHOICE_KEYS.items() if rng.random() < 0.6}}
    for label, selected in choices.items():
        parts[label] = {"kind": "multiple_choice", "outcome": "boxes", "selected": selected,
                        "score": 2.0 if selected == CHOICE_KEYS[label] else 0.0}
    from grader.render import render_pdf_page

    pages = []
    for number in (1, 2):
        page = render_pdf_page(folder / "blank.pdf", number - 1, dpi=dpi).image.copy()
        from PIL import ImageDraw

        draw = ImageDraw.Draw(page)
        for label, part in parts.items():
            space = truth["spaces"].get(label)
            if space is None or space["page"] != number or part["outcome"] in ("empty", "boxes"):
                continue
            if part["outcome"] == "scribble":
                coverage = _scribble(rng, ppmm)
            else:
                coverage = write_answer(Answer(part["kind"], tuple(part["lines"]), None), hand, rng)
            _write(page, coverage, space, hand.pen, rng, ppmm)
        for box in truth["boxes"]:
            if box["page"] == number and box["option"] in choices.get(box["label"], ()):
                draw_mark(draw, "cross", box["x"] + box["w"] / 2, box["y"] + box["h"] / 2,
                          box["w"], ppmm, rng)
        params = random_scan_params(rng, dpi, upside_down_rate=0.15)
        pages.append((number, apply_scan(page, params, rng), params.as_dict()))
    shuffled = rng.random() < 0.3
    if shuffled:
        pages.reverse()
    name = f"student_{student:02d}.pdf"
    images_to_pdf([image for _, image, _ in pages], folder / name)
    return {"file": name, "dpi": dpi, "hand": hand.name, "order": [n for n, _, _ in pages],
            "scans": [p for _, _, p in pages], "parts": parts}


def students(folder: Path, count: int, seed: int) -> list[dict]:
    out = [fill(folder, i, seed) for i in range(1, count + 1)]
    (folder / "truth.json").write_text(json.dumps(out, indent=1, default=str))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--students", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    generate(args.out)
    if args.students:
        students(args.out, args.students, args.seed)


if __name__ == "__main__":
    main()
