"""Exam layout for the scan simulator: the TUM IN2346 endterm 2020, Problem 1 (nine
multiple-choice questions, seed 002) and part of Problem 2 (free-text answers), laid out on
A4 in millimetres from the page's top-left corner. The blank PDF is drawn from this layout
with reportlab (vector), so the layout is the single source of truth for box positions."""
from __future__ import annotations

from dataclasses import dataclass

from reportlab.pdfbase.pdfmetrics import stringWidth

PAGE_W_MM, PAGE_H_MM = 210.0, 297.0
BOX_MM = 5.0
OUTLINE_MM = 0.3
LEFT_MM = 20.0
TEXT_X_MM = 27.0
OPTION_X_MM = 35.0
BOTTOM_MM = 275.0
PT_PER_MM = 72.0 / 25.4

PROBLEM1_HEADER = "Problem 1   Multiple Choice Questions (18 credits)"
PROBLEM1_RULES = [
    "For all multiple choice questions any number of answers, i.e. either zero (!), one, all "
    "or multiple answers can be correct.",
    "For each question, you'll receive 2 points if all boxes are answered correctly (i.e. "
    "correct answers are checked, wrong answers are not checked) and 0 otherwise.",
    "How to Check a Box: Please cross the respective box (interpreted as checked). If you "
    "change your mind, please fill the box (interpreted as not checked). If you change your "
    "mind again, please place a cross to the left side of the box (interpreted as checked).",
]

# (part, question text, extra printed lines without boxes, options)
QUESTIONS: list[tuple[str, str, list[str], list[str]]] = [
    ("a", "Which of the following statements regarding successful ImageNet-classification "
          "architectures are correct?", [],
     ["ResNet18 has more parameters than VGG16.", "VGG16 only uses convolutional layers.",
      "InceptionV3 uses filters of different kernel sizes.",
      "AlexNet uses filters of different kernel sizes."]),
    ("b", "You train a neural network and the loss diverges. What are reasonable things to do? "
          "(check all that apply)", [],
     ["Decrease the learning rate.", "Add dropout.", "Increase the number of parameters.",
      "Try a different optimizer."]),
    ("c", "What is the correct order of operations for an optimization with gradient descent?",
     ["(a) Update the network weights to minimize the loss.",
      "(b) Calculate the difference between the predicted and target value.",
      "(c) Iteratively repeat the procedure until convergence.",
      "(d) Compute a forward pass.", "(e) Initialize the neural network weights."],
     ["eadbc", "ebadc", "edbac", "bcdea"]),
    ("d", "Consider a simple convolutional neural network with a single convolutional layer. "
          "Which of the following statements is true about this network?", [],
     ["It is translation invariant.", "All input nodes are connected to all output nodes.",
      "It is scale-invariant.", "It is rotation invariant."]),
    ("e", "Which of the following activation functions can lead to vanishing gradients?", [],
     ["ReLU.", "Leaky Relu.", "Tanh.", "Sigmoid."]),
    ("f", "Logistic regression (check all that apply).", [],
     ["Allows to perform binary classification.", "Has a discrete output space.",
      "Uses cross-entropy loss.", "Can be seen as a 1-layer neural network."]),
    ("g", "A sigmoid layer", [],
     ["has a learnable parameter.",
      "maps surjectively to values in (-1, 1), i.e., hits all values in that interval.",
      "is continuous and differentiable everywhere.", "cannot be used during backpropagation."]),
    ("h", "Your training error does not decrease. What could be wrong?", [],
     ["Dropout probability not high enough.", "Bad initialization.",
      "Too much regularization.", "Learning rate is too high."]),
    ("i", "Which of the following have trainable parameters? (check all that apply)", [],
     ["Max pooling", "Dropout", "Batch normalization", "Leaky ReLU"]),
]
CORRECT = {"a": [3, 4], "b": [1, 4], "c": [3], "d": [], "e": [3, 4], "f": [1, 3, 4],
           "g": [3], "h": [2, 3, 4], "i": [3]}

PROBLEM2_HEADER = "Problem 2   Activation Functions and Weight Initialization (8 credits)"
PROBLEM2_PARTS = [
    ("b", "Using the results above, explain what problems can arise during backpropagation of "
          "deep neural networks when initializing the weights with too small and too large "
          "variance. Also, explain the root of these problems.",
     ["Small variance: in a deep network the output is close to 0,",
      "the gradient also becomes very small -> vanishing gradient.",
      "Large variance: tanh saturates, gradient is also very small."]),
    ("c", "Which initialization scheme did you learn in the lecture that tackles these "
          "problems? What does this initialization try to achieve in the activations of deep "
          "layers of the neural network?",
     ["Xavier initialization.", "Keep the variance of the output equal to the input."]),
    ("d", "After switching from tanh to ReLU activation functions, one of your initial problems "
          "occurs again. Why does this happen? How can you modify the initialization scheme "
          "proposed in c) to adjust it for this new non-linearity?",
     ["Xavier is not for ReLU, ReLU kills half of the output.",
      "Use Kaiming initialization, variance = 2/n instead of 1/n."]),
]


@dataclass(frozen=True)
class TextItem:
    page: int
    x: float          # mm, left
    y: float          # mm, baseline from the top
    size: float       # pt
    text: str
    bold: bool = False


@dataclass(frozen=True)
class BoxItem:
    page: int
    label: str        # "1.a"
    option: int       # 1-based
    x: float          # mm, top-left of the outline centre-line square
    y: float
    side: float = BOX_MM

    @property
    def cx(self) -> float:
        return self.x + self.side / 2

    @property
    def cy(self) -> float:
        return self.y + self.side / 2


@dataclass(frozen=True)
class AnswerArea:
    page: int
    label: str        # "2.c"
    x: float
    y: float          # mm, top of the area
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Layout:
    pages: int
    texts: tuple[TextItem, ...]
    boxes: tuple[BoxItem, ...]
    answers: tuple[AnswerArea, ...]

    def boxes_on(self, page: int) -> list[BoxItem]:
        return [b for b in self.boxes if b.page == page]


def _wrap(text: str, size: float, width_mm: float, font: str = "Helvetica") -> list[str]:
    words, lines, cur = text.split(), [], ""
    for word in words:
        trial = f"{cur} {word}".strip()
        if stringWidth(trial, font, size) / PT_PER_MM <= width_mm or not cur:
            cur = trial
        else:
            lines.append(cur)
            cur = word
    return lines + ([cur] if cur else [])


def exam_layout() -> Layout:
    """Positions of every printed item; deterministic (no randomness here)."""
    texts: list[TextItem] = []
    boxes: list[BoxItem] = []
    answers: list[AnswerArea] = []
    page, y = 1, 22.0
    texts.append(TextItem(page, LEFT_MM, y, 12, PROBLEM1_HEADER, bold=True))
    y += 8
    for rule in PROBLEM1_RULES:
        for i, line in enumerate(_wrap(rule, 9, 165)):
            texts.append(TextItem(page, TEXT_X_MM, y, 9, ("- " if i == 0 else "  ") + line))
            y += 4.2
        y += 1.5
    y += 4
    for part, question, extra, options in QUESTIONS:
        need = 5 * len(_wrap(question, 10, 160)) + 4.5 * len(extra) + 7.5 * len(options) + 6
        if y + need > BOTTOM_MM:
            page, y = page + 1, 22.0
        texts.append(TextItem(page, LEFT_MM, y, 10, f"{part})", bold=True))
        for line in _wrap(question, 10, 160):
            texts.append(TextItem(page, TEXT_X_MM, y, 10, line))
            y += 5
        for line in extra:
            texts.append(TextItem(page, OPTION_X_MM, y, 9.5, line))
            y += 4.5
        y += 2
        for option, text in enumerate(options, start=1):
            # Box vertically centred on the option's text line (baseline ~1.2 mm below centre).
            boxes.append(BoxItem(page, f"1.{part}", option, TEXT_X_MM, y - BOX_MM / 2 - 1.2))
            texts.append(TextItem(page, OPTION_X_MM, y, 10, text))
            y += 7.5
        y += 4
    page, y = page + 1, 22.0
    texts.append(TextItem(page, LEFT_MM, y, 12, PROBLEM2_HEADER, bold=True))
    y += 9
    for part, question, answer in PROBLEM2_PARTS:
        texts.append(TextItem(page, LEFT_MM, y, 10, f"{part})", bold=True))
        for line in _wrap(question, 10, 160):
            texts.append(TextItem(page, TEXT_X_MM, y, 10, line))
            y += 5
        answers.append(AnswerArea(page, f"2.{part}", TEXT_X_MM, y + 2, tuple(answer)))
        y += 2 + 9 * len(answer) + 14
    return Layout(pages=page, texts=tuple(texts), boxes=tuple(boxes), answers=tuple(answers))


def write_blank_pdf(layout: Layout, path) -> None:
    """The blank exam as a vector PDF (what instructors upload as the OMR template)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    c.setTitle("IN2346 Endterm (simulated blank)")
    page_h = A4[1]
    for page in range(1, layout.pages + 1):
        for t in (t for t in layout.texts if t.page == page):
            c.setFont("Helvetica-Bold" if t.bold else "Helvetica", t.size)
            c.drawString(t.x * PT_PER_MM, page_h - t.y * PT_PER_MM, t.text)
        c.setLineWidth(OUTLINE_MM * PT_PER_MM)
        for b in layout.boxes_on(page):
            c.rect(b.x * PT_PER_MM, page_h - (b.y + b.side) * PT_PER_MM,
                   b.side * PT_PER_MM, b.side * PT_PER_MM, stroke=1, fill=0)
        c.setFont("Helvetica", 8)
        c.drawString(LEFT_MM * PT_PER_MM, 12 * PT_PER_MM, f"IN-I2DL-1-20200811  page {page}")
        c.showPage()
    c.save()
