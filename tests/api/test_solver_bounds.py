"""Instructor YAML that would stall or crash the web tier (issue 18, finding 9): solver work is
bounded by the size of what it computes, numbers by their size, and the upload answers 400
with the question and the field, quickly, instead of a 500 or a killed web worker.

Through the real upload endpoint (POST /api/exams/), in-process."""
from __future__ import annotations

import pytest

from exams.models import Exam
from tests.api.test_exams_api import as_user, post_exam
from tests.api.factories import make_world

pytestmark = pytest.mark.django_db

HEAD = 'code: BOUNDS-1\ntitle: Bounds\nquestions:\n  - number: "3"\n    points: 1\n'
ONES_70 = "[" + ", ".join(["[" + ", ".join(["1"] * 70) + "]"] * 70) + "]"

CASES = {
    # Small inputs, 4.4e10 multiply-adds (padded input 3070×3070, output 3001×3001, 70×70 kernel).
    "conv_work": ("    kind: matrix\n    solver: conv2d\n"
                  f"    params: {{input: {ONES_70}, weight: {ONES_70}, padding: 1500}}\n",
                  r"question 3, field 'params': conv2d: 4\.\d+e\+10 multiply-adds"),
    "conv_padding": ("    kind: matrix\n    solver: conv2d\n"
                     f"    params: {{input: {ONES_70}, weight: {ONES_70}, padding: 1580}}\n",
                     r"question 3, field 'params': conv2d: the padded input would have 10432900"),
    "kernel_exponent_string": ('    kind: shape\n    solver: conv2d_output_shape\n    params: '
                               '{input_shape: [26, 26, 26], out_channels: 5, kernel_size: "1e999999999"}\n',
                               r"question 3, field 'params': kernel_size: .* too long or too large"),
    "tiny_exponent_string": ('    kind: numeric\n    solver: uniform_init_bound\n    params: '
                             '{mode: lecun, fan_in: "1e-999999999"}\n',
                             r"question 3, field 'params': fan_in: .* too long or too large"),
    "integer_5000_digits_param": ('    kind: shape\n    solver: conv2d_output_shape\n    params: '
                                  '{input_shape: [26, 26, 26], kernel_size: 3, out_channels: '
                                  + "9" * 5000 + '}\n',
                                  r"question 3, field 'params': out_channels: .*5000 characters"),
    "integer_5000_digits_answer": ("    kind: numeric\n    answer: " + "9" * 5000 + "\n",
                                   r"question 3, field 'answer': <a 5000-character number>"),
    "integer_20_digits_param": ('    kind: shape\n    solver: conv2d_output_shape\n    params: '
                                '{input_shape: [26, 26, 26], kernel_size: 3, out_channels: '
                                + "9" * 20 + '}\n',
                                r"question 3, field 'params': out_channels: a number of 20 digits"),
    "receptive_field_3000_layers": ("    kind: numeric\n    solver: receptive_field\n    params: {layers: ["
                                    + ", ".join(["{kernel: 3, stride: 2}"] * 3000) + "]}\n",
                                    r"question 3, field 'params': receptive_field: 3000 layers; at most 1000"),
    "receptive_field_growth": ("    kind: numeric\n    solver: receptive_field\n    params: {layers: ["
                               + ", ".join(["{kernel: 99999, stride: 99999}"] * 5) + "]}\n",
                               r"receptive_field: layer 4: the receptive field grows beyond 10\^15"),
    "rnn_layer_count": ("    kind: numeric\n    solver: param_count\n    params: "
                        "{layer: rnn, input_size: 3, hidden_size: 5, num_layers: 1000000000000}\n",
                        r"num_layers: at most 1000, got 1000000000000"),
    "transposed_stride": ("    kind: matrix\n    solver: conv_transpose2d\n    params: "
                          f"{{input: {ONES_70}, weight: {ONES_70}, stride: 1000}}\n",
                          r"conv_transpose2d: the output would have \d+ entries"),
    "attention_scores": ("    kind: matrix\n    solver: self_attention\n    params: {x: ["
                         + ", ".join(["[1]"] * 4000) + "], wq: [[1]], wk: [[1]], wv: [[1]]}\n",
                         r"self_attention: the score matrix would have 16000000 entries"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_oversized_solver_work_is_a_400_naming_the_field(case, media_root):
    import re

    world = make_world()
    body, pattern = CASES[case]
    response = post_exam(as_user(world["users"]["instructor"]), HEAD + body)
    assert response.status_code == 400, (case, response.status_code, response.content[:300])
    assert re.search(pattern, response.json()["error"]), (case, response.json()["error"])
    assert not Exam.objects.filter(code="BOUNDS-1").exists()
