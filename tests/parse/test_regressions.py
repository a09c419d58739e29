"""Cases found while grading the seed samples end to end (full documents, typed PDFs)."""
import pytest

from grader.parse import parse_answer
from grader.segment import segment_answers
from grader.types import PageText, QuestionSpec


def values(outputs):
    return QuestionSpec(label="6.d", number="6", part="d", kind="values", points=3, outputs=outputs)


@pytest.mark.parametrize("text,outputs,expected", [
    # several assignments on one line: each name gets its own value, never the last one
    ("dh3/dV = 2/3, dh3/dW = 1, dh3/dx1 = 0", ("dh3_dV", "dh3_dW", "dh3_dx1"),
     {"dh3_dV": 2 / 3, "dh3_dW": 1, "dh3_dx1": 0}),
    # YAML output names with "_" match the student's "/" notation
    (r"$$\frac{\partial h_3}{\partial V} = \frac{2}{3}$$", ("dh3_dV",), {"dh3_dV": 2 / 3}),
    ("Thus, a = 70, b = 24, e = f = 0.", ("a", "b", "e", "f"), {"a": 70, "b": 24, "e": 0, "f": 0}),
    ("x = 10,000 and y = 3", ("x", "y"), {"x": 10000, "y": 3}),
])
def test_values(text, outputs, expected):
    assert parse_answer(values(outputs), text).value == pytest.approx(expected)


def q(label, kind="text", title=""):
    number, _, part = label.partition(".")
    return QuestionSpec(label=label, number=number, part=part or None, kind=kind, points=1, title=title)


def test_parts_the_exam_does_not_grade_still_end_the_previous_answer():
    text = "Problem 4\na) prompt a?\nb) What is the output shape?\n8x8x5\nc) Name the dims?\nwidth height\n"
    segs = segment_answers([PageText(1, text)], [q("4.b", "shape")])
    assert segs["4.b"].text.strip() == "8x8x5"


def test_problems_the_exam_does_not_grade_do_not_run_on():
    text = "Problem 4\nb) What is the receptive field?\n15\nProblem 5 Training\nGradient descent 20 times\n"
    segs = segment_answers([PageText(1, text)], [q("4.b", "numeric")])
    assert segs["4.b"].text.strip() == "15"


def test_wrapped_prompt_is_not_taken_as_the_answer():
    text = ("Problem 4\nb) Given a Convolution Layer with 5 filters, filter size of 7. For an input\n"
            "feature map of 26 x 26 x 26, what is the output dimensionality?\n8 x 8 x 5\n")
    segs = segment_answers([PageText(1, text)], [q("4.b", "shape", title="output dimensionality")])
    assert parse_answer(q("4.b", "shape"), segs["4.b"].text).value == [8, 8, 5]


def test_wrapped_latex_fragment_is_not_a_part_heading():
    text = ("Problem 6\nd) Compute it.\n$$\\frac{\\partial \\text{ReLU}(V h_1 + W x_2 +\n"
            "b)} \\cdot V = 2/3$$\n")
    segs = segment_answers([PageText(1, text)], [q("6.b"), q("6.d")])
    assert "6.b" not in segs and "b)}" in segs["6.d"].text


def numeric(key=94):
    return QuestionSpec(label="1", number="1", part=None, kind="numeric", points=2, key=key)


@pytest.mark.parametrize("text,value,flags", [
    # Leading zeros are the number's, not a reason to cut it down to 0 (it was 0, unflagged).
    ("094", 94, ()),
    ("-007.5", -7.5, ()),
    ("00.5", 0.5, ()),
    ("0.094", 0.094, ()),
    # Two numbers side by side are two answers, not the first of them (it was 10, unflagged).
    ("10 64", 64, ("ambiguous",)),
    ("10 6 4", 4, ("ambiguous",)),
    # ... while spaced thousands and implicit products stay what they were.
    ("1 064", 1064, ()),
    ("2 (3+4)", 14, ()),
    # Text that evaluates only with a digit dropped has no value (it was 1.2 / 64.6).
    ("1.2.3", None, ("unparsed",)),
    ("64.6.3", None, ("unparsed",)),
    # A value with its uncertainty is two numbers (it was 94 + (-1) = 93, unflagged) ...
    ("94 +- 1", 1, ("ambiguous",)),
    ("94 +/- 1", 1, ("ambiguous",)),
    # ... while a sum with a negative term stays a sum.
    ("x = 3 + -2", 1, ()),
    # A conclusion that states two values is two claims (it was the first, unflagged).
    ("answer: 93, no wait 94", 94, ("ambiguous",)),
    ("therefore 7 x 7\n1x1 convolution layer", 7, ()),   # the next line is not the claim
    ("the answer is 15 because 3 x 5 = 15", 15, ()),
    # A value the answer rules out is no claim (it was full marks for "not 94").
    ("not 94", 94, ("ambiguous",)),
    # Flagged either way; the value suggested is the one kept, not the one ruled out (it was
    # 94, the last number written).
    ("it is 95, not 94", 95, ("ambiguous",)),
    ("6 (not 5)", 6, ("ambiguous",)),
    ("not 5 but 6", 6, ("ambiguous",)),
    ("x ≠ 94", 94, ("ambiguous",)),
    ("the answer is 94, nothing else", 94, ()),
    # Dangling brackets and operators are still trimmed.
    ("h = 3.5)", 3.5, ()),
    ("the answer is 15.", 15, ()),
])
def test_numbers_are_never_cut_down_to_another_value(text, value, flags):
    parsed = parse_answer(numeric(), text)
    assert parsed.value == (pytest.approx(value) if value is not None else None)
    assert tuple(str(f) for f in parsed.flags) == flags


@pytest.mark.parametrize("text,value", [
    # A transpose mark after a matrix is applied (it was ignored: full marks for W^T).
    ("[[1,2],[3,4]]^T", [[1, 3], [2, 4]]),
    (r"\begin{pmatrix}1 & 2\\ 3 & 4\end{pmatrix}^{\top}", [[1, 3], [2, 4]]),
    ("[[1,2,3],[4,5,6]]^T", [[1, 4], [2, 5], [3, 6]]),
    # ... not a ^T naming what the matrix is, nor a closing quote.
    ("W^T = [[1,2],[3,4]]", [[1, 2], [3, 4]]),
    ("'[[1,2],[3,4]]'", [[1, 2], [3, 4]]),
])
def test_a_transposed_matrix_is_read_transposed(text, value):
    spec = QuestionSpec(label="1", number="1", part=None, kind="matrix", points=2, key=[[1, 2], [3, 4]])
    assert parse_answer(spec, text).value == value


@pytest.mark.parametrize("key,text,score,flags", [
    # A percentage is the key as written: full marks, nothing to review.
    (50, "50%", 2, ()),
    (50, "accuracy: 50 %", 2, ()),
    # The key only as a fraction (it was 0, unflagged): full marks suggested, a TA decides.
    (0.5, "50%", 2, ("percent",)),
    # Neither: wrong either way, no review.
    (0.3, "50%", 0, ()),
    # Without a percent sign nothing changes.
    (0.5, "50", 0, ()),
])
def test_a_percentage_is_weighed_as_written_and_as_a_fraction(key, text, score, flags):
    from grader.score import score_answer

    spec = numeric(key)
    scored = score_answer(spec, parse_answer(spec, text), key)
    assert (scored.score, tuple(str(f) for f in scored.flags)) == (score, flags)


@pytest.mark.parametrize("text,score,flags", [
    ("8 x 8 x 5", 2, ()),
    ("8 x 8 x 6", 0, ()),                         # wrong, and surely so
    ("5 x 8 x 8", 0, ("layout_differs",)),
    # Another number of dimensions: the rest may be in words (it was 0, unflagged).
    ("output: 8x8, 5 channels", 0, ("shape_mismatch",)),
    ("8 x 8 x 5 x 1", 0, ("shape_mismatch",)),
])
def test_a_shape_with_another_number_of_dimensions_is_flagged(text, score, flags):
    from grader.score import score_answer

    spec = QuestionSpec(label="1", number="1", part=None, kind="shape", points=2, key=[8, 8, 5])
    scored = score_answer(spec, parse_answer(spec, text), spec.key)
    assert (scored.score, tuple(str(f) for f in scored.flags)) == (score, flags)


@pytest.mark.parametrize("kind,key,text,value,flags", [
    # A number said to equal another number is two claims (it was the last, unflagged) ...
    ("numeric", 3, "x = 3 = 4", 4, ("ambiguous",)),
    ("numeric", 3, "x = 3 = 3.0", 3, ()),
    ("numeric", 7, "x = 5 = 5\nthe answer is 7", 7, ()),      # a restatement claims nothing
    # ... while a chain of work still ends where it ends.
    ("numeric", 7.5, "x = 15/2 = 7.5", 7.5, ()),
    ("numeric", 15, "x = 3 * 5 = 15", 15, ()),
    # A hexadecimal literal is no product 0 × 5 (it was 0, unflagged).
    ("numeric", 94, "0x5E", 0, ("ambiguous",)),
    # One name given two bare values is two claims (the last was taken, unflagged) ...
    ("values", {"a": 3}, "a = 3, a = 4", {"a": 4}, ("ambiguous",)),
    ("values", {"a": 3}, "a = 3\na = 4", {"a": 4}, ("ambiguous",)),
    # ... while work that updates it is superseded by its later step.
    ("values", {"a": 4}, "a = 3\na = 3 + 1 = 4", {"a": 4}, ()),
    # The same for one number: the answer's name said to be two numbers is two final answers
    # (the last was taken, unflagged), and so is a number said after the work's result (the
    # chain's result was taken, unflagged) or before a conclusion; work still supersedes.
    ("numeric", 5, "y = 5\ny = 6", 6, ("ambiguous",)),
    ("numeric", 6, "y = 5; y = 6", 6, ("ambiguous",)),
    ("numeric", 5, "y = 2 + 3 = 5\ny = 6", 5, ("ambiguous",)),
    ("numeric", 6, "y = 5\nso y = 6", 6, ("ambiguous",)),
    ("numeric", 4, "y = 3\ny = 3 + 1 = 4", 4, ()),
    ("numeric", 6, "y = 10/2\ny = 6", 6, ()),
    ("numeric", 5, "y = 5\ny = 5.0", 5, ()),
    ("numeric", 6, "x = 5\ny = 6", 6, ()),
    ("shape", [4, 3], "y = 3x4\ny = 4x3", [4, 3], ("ambiguous",)),
    # Two matrices offered as the answer (the last was taken, unflagged); work is not.
    ("matrix", [[5, 6], [7, 8]], "[[1,2],[3,4]] or [[5,6],[7,8]]", [[5, 6], [7, 8]], ("ambiguous",)),
    ("matrix", [[5, 6], [7, 8]], "A = [[1,2],[3,4]], so A + 4 = [[5,6],[7,8]]", [[5, 6], [7, 8]], ()),
    # A shape's separator with no size after it: a size is missing (it was full marks).
    ("shape", [8, 8], "8x8x", [8, 8], ("ambiguous",)),
    ("shape", [8, 8], "8 x 8 x ?", [8, 8], ("ambiguous",)),
    ("shape", [8, 8], "8 x 8 channels", [8, 8], ()),
    # Two numbers said equal: two claims, whichever side holds the key.
    ("numeric", 5, "5 = 6", 6, ("ambiguous",)),
    ("numeric", 5, "6 = 5", 5, ("ambiguous",)),
    ("values", {"a": 3, "b": 4}, "a = 3 = 5, b = 4", {"a": 5, "b": 4}, ("ambiguous",)),
    # A number after a word's closing bracket is a value (it was dropped: 5, unflagged).
    ("numeric", 5, "5 (wrong) 6", 6, ("ambiguous",)),
    ("numeric", 5, "ReLU(-5) = 0", 0, ()),
    # A factorial is not its number (it was 5, unflagged).
    ("numeric", 120, "5!", 5, ("ambiguous",)),
    ("numeric", 5, "x != 4, x = 5", 5, ("ambiguous",)),
    # Bars round a number are an absolute value, not ones (it was 151, unflagged).
    ("numeric", 5, "|-5|", -5, ("ambiguous",)),
    ("numeric", 5, "|5|", 5, ("ambiguous",)),
    ("numeric", 15, "l5", 15, ("ocr_corrected",)),
    # An operation on the matrix read is not evaluated (it was the bare matrix, unflagged).
    ("matrix", [[1, 2], [3, 4]], "2*[[1,2],[3,4]]", [[1, 2], [3, 4]], ("ambiguous",)),
    ("matrix", [[1, 2], [3, 4]], "-[[1,2],[3,4]]", [[1, 2], [3, 4]], ("ambiguous",)),
    ("matrix", [[1, 2], [3, 4]], "[[1,2],[3,4]]^-1", [[1, 2], [3, 4]], ("ambiguous",)),
    ("matrix", [[1, 2], [3, 4]], "[[1,2],[3,4]] + 1", [[1, 2], [3, 4]], ("ambiguous",)),
    ("matrix", [[1, 2], [3, 4]], "[[1,2],[3,4]] (not [[1,2],[3,5]])", [[1, 2], [3, 5]],
     ("ambiguous",)),
    ("matrix", [[1, 3], [2, 4]], "Y = [[1,2],[3,4]]^T", [[1, 3], [2, 4]], ()),
])
def test_two_claims_are_never_resolved_silently(kind, key, text, value, flags):
    spec = QuestionSpec(label="1", number="1", part=None, kind=kind, points=2, key=key,
                        outputs=tuple(key) if isinstance(key, dict) else ())
    parsed = parse_answer(spec, text)
    assert parsed.value == (pytest.approx(value) if not isinstance(value, list) else value)
    assert tuple(str(f) for f in parsed.flags) == flags


MC = QuestionSpec(label="1", number="1", part=None, kind="multiple_choice", points=1, key=[2],
                  options=("ReLU is differentiable everywhere", "Sigmoid saturates",
                           "Tanh is zero-centred", "Softmax sums to one"))


@pytest.mark.parametrize("text,value,flags", [
    ("B", [2], ()),
    ("choice B is correct", [2], ()),
    # A statement that an option is wrong selects nothing (it was full marks for B).
    ("choice B is wrong", None, ("unparsed",)),
    ("option 2 is not correct", None, ("unparsed",)),
    ("choice A is wrong, choice B is correct", [2], ()),
    # Options offered as alternatives are two selections for a TA (it was [1, 2], unflagged).
    ("A or B", [1, 2], ("ambiguous",)),
    ("choices A or B", [1, 2], ("ambiguous",)),
    ("A, C", [1, 3], ()),
])
def test_a_choice_is_what_the_answer_selects(text, value, flags):
    parsed = parse_answer(MC, text)
    assert parsed.value == value
    assert tuple(str(f) for f in parsed.flags) == flags


@pytest.mark.parametrize("kind,key,text,flags", [
    # The student's own doubt goes to a TA (each was full marks, unflagged) ...
    ("numeric", 5, "5?", ("hedged",)),
    ("numeric", 5, "5 ?", ("hedged",)),
    ("numeric", 5, "y = 5 (?)", ("hedged",)),
    ("numeric", 5, "maybe 5", ("hedged",)),
    ("numeric", 5, "5 (not sure)", ("hedged",)),
    ("numeric", 5, "Probably 5", ("hedged",)),
    ("numeric", 5, "5, I guess", ("hedged",)),
    ("numeric", 5, "guess: 5", ("hedged",)),
    ("shape", [4, 3], "4x3??", ("hedged",)),
    # ... a question restated, a probability, a method's initial guess are no doubt.
    ("numeric", 5, "What is y? y = 5", ()),
    ("numeric", 0.3, "The probability is 0.3", ()),
    ("numeric", 5, "initial guess x0 = 1, then x = 5", ()),
    ("numeric", 5, "unanswered questions: none; y = 5", ()),
])
def test_an_answer_the_student_doubts_is_flagged(kind, key, text, flags):
    spec = QuestionSpec(label="1", number="1", part=None, kind=kind, points=2, key=key)
    parsed = parse_answer(spec, text)
    assert parsed.value is not None
    assert tuple(str(f) for f in parsed.flags) == flags


def test_a_doubted_right_answer_suggests_its_score_and_goes_to_review():
    from grader.score import score_answer

    spec = QuestionSpec(label="1", number="1", part=None, kind="numeric", points=2, key=5)
    scored = score_answer(spec, parse_answer(spec, "y = 5 (not sure)"), spec.key)
    assert scored.score == 2 and "hedged" in scored.flags and scored.needs_review
