"""A printed exam with written answer spaces, as instructors hand it out: the blank PDF (vector,
with a text layer), its exam YAML, and where each answer space is (the truth the answer-region
finder is measured against).

Questions come from the seed documents (a receptive field, a convolution's output shape, an
RNN's parameter count, Xavier's bound, an RNN's hidden states) plus two multiple-choice
questions with printed boxes. Most parts have a drawn answer frame; part 1.c has none (its
answer space is the room down to the next printed line), as many real exams do.

    python -m tools.written_exam --out /tmp/written      # blank.pdf + exam.yaml + layout.json
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    generate(parser.parse_args(argv).out)


if __name__ == "__main__":
    main()
