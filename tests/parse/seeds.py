"""The seed exams' structures (labels, kinds, printed titles) for segmentation and seed tests."""
from __future__ import annotations

from pathlib import Path

from grader.types import PageText, QuestionSpec

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
if not SEEDS.exists():  # running from a checkout elsewhere: tests that need seeds skip
    SEEDS = Path("/work/shared/seeds")


def seed_text(prefix: str) -> str:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_text()


def seed_pages(prefix: str) -> list[PageText]:
    return [PageText(1, seed_text(prefix))]


def q(label: str, kind: str = "text", title: str = "", **kw) -> QuestionSpec:
    number, _, part = label.partition(".")
    return QuestionSpec(label=label, number=number, part=part or None, kind=kind, points=1.0, title=title, **kw)


EXAM_000 = [q("1.i"), q("1.ii", "numeric"), q("1.iii"), q("1.iv", "matrix"), q("2"), q("3"),
            q("4.a"), q("4.b"), q("4.c"), q("4.d")]

EXAM_001 = [
    q("1.i", title="What is the motivation for using downsampling and upsampling in the Fully Convolutional "
                   "Network for semantic segmentation?"),
    q("1.ii", "numeric", title="Given the following network, calculate the receptive field."),
    q("1.iii", title="What are the advantages of dilated convolution over standard convolution for the "
                     "semantic segmentation task?"),
    q("1.iv", "matrix", title="Given a transposed convolution kernel as follow, whose stride=1, padding=0, "
                              "dilation=1,", key=[[1, 4, 7, 6], [5, 17, 27, 20], [9, 27, 37, 26], [9, 24, 31, 20]]),
    q("2", title="What is the key difference between VQVAE and VAE? (2 marks)"),
    q("3", title="What is training objective of Generative Adversarial Networks? Please answer this question "
                 "conceptually, i.e., do not just posing mathematical equations. (3 marks)"),
]

_P002 = {"1": "abcdefghi", "2": "abcd", "3": "abcd", "4": "abcdefg", "5": "abcdefghijk", "6": "abcde",
         "7": "abcdefgh", "8": "abcdef"}
_T002 = {
    "2.a": "Compute a forward pass for each set of weights and draw the results of the linear layer in the "
           "Figure of the tanh plot. You don't need to compute the tanh.",
    "2.b": "Using the results above, explain what problems can arise during backpropagation of deep neural "
           "networks when initializing the weights with too small and too large variance.",
    "2.c": "Which initialization scheme did you learn in the lecture that tackles these problems?",
    "2.d": "After switching from tanh to ReLU activation functions, one of your initial problems occurs again.",
    "3.a": "Why would one want to apply batch normalization in a neural network?",
    "3.b": "Why are γ and β needed in the batch normalization formula?",
    "3.c": "How is a batch normalization layer applied at training (1p) and at test (1p) time?",
    "3.d": "Computational graph of a batch normalization layer. Fill out the nodes (circles) of the following "
           "computational graph.",
    "4.b": "Given a Convolution Layer in a network with 5 filters, filter size of 7, a stride of 3, and a "
           "padding of 1.",
    "4.c": "You are given a convolutional layer with 4 filters, kernel size 5, stride 1, and no padding that "
           "operates on an RGB image.",
    "4.d": "A convolutional neural network consists of 3 consecutive 3×3 convolutional layers with stride 1 "
           "and no padding.",
    "4.e": "Consider a network consisting of a single layer.",
    "4.f": "Draw a ResNet block in the image above (1p) containing two linear layers",
    "4.g": "For your above drawing, given the partial derivative of the residual block",
    "6.a": "Given the dimensions $x_t \\in \\mathbb{R}^3$ and $h_t \\in \\mathbb{R}^5$, what is the number of "
           "parameters in the RNN cell? (Calculate final number)",
    "6.b": "If x_t and b are the 0 vector, then $h_t = h_{t-1}$ for any value of h_t . Discuss whether this "
           "statement is correct.",
    "6.c": "Calculate h_2 and h_3 where",
    "6.d": "Calculate the derivatives $\\frac{\\partial h_3}{\\partial V}$, $\\frac{\\partial h_3}{\\partial W}$, "
           "and $\\frac{\\partial h_3}{\\partial x_1}$ for the forward pass of the ReLU-RNN where",
    "6.e": "A Long-Short Term Memory (LSTM) unit is defined as",
    "8.f": "You are given input samples $\\mathbf{x} = (x_1, \\dots, x_n)$ for which each component x_j is "
           "drawn from a distribution with zero mean.",
}
_K002 = {"6.a": "numeric", "6.c": "values", "4.d": "numeric", "4.b": "shape", "8.f": "expression",
         "6.d": "values"}
_X002 = {"6.c": {"outputs": ("h2", "h3")}, "6.d": {"outputs": ("dh3/dV",)},
         "8.f": {"variables": ("n",), "key": "sqrt(3/n)"}}
EXAM_002 = [q(f"{n}.{p}", _K002.get(f"{n}.{p}", "text"), _T002.get(f"{n}.{p}", ""), **_X002.get(f"{n}.{p}", {}))
            for n, ps in _P002.items() for p in ps]

EXAM_003 = [q(str(i), {2: "numeric", 6: "multiple_choice", 8: "multiple_choice", 10: "multiple_choice",
                       12: "multiple_choice"}.get(i, "text"),
              **({"options": ("o1", "o2", "o3", "o4", "o5")} if i in (6, 8, 10, 12) else {}))
            for i in range(1, 13)]


def seed_004_conv_sheet() -> str:
    """Seed 004 concatenates several solution sheets that each restart at question 1; the sheet
    with the convolution question (1) through the LSTM question (4) is one exam."""
    text = seed_text("004")
    start = text.index("tion 1: Consider the image X")
    end = text.index("stion 1: Here is the objective function of VAE")
    return text[start:end]


EXAM_004 = [q("1", "values", outputs=("a", "b", "e", "f")), q("2.a"), q("2.b"), q("3"), q("4.a"), q("4.b")]


def seed_004_attention_sheet() -> str:
    text = seed_text("004")
    return text[:text.index("stion 6 BERT")]


EXAM_004_ATTENTION = [q("5.a", "matrix"), q("5.b", "matrix"), q("5.c", "matrix")]
