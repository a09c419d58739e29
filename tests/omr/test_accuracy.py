from __future__ import annotations

from bench.omr_accuracy import report, run


def test_small_accuracy_run():
    """~300 simulated boxes through simulate -> scan -> register -> classify."""
    result = run(300, seed=7)
    assert len(result.outcomes) >= 300
    assert result.wrong_filled == 0, report(result)
    assert result.accuracy >= 0.99, report(result)
    assert result.uncertain_rate <= 0.03, report(result)
    assert result.pages_not_ok == 0


def test_simulator_is_deterministic(blank_pdf, layout):
    import numpy as np

    from tools.scansim import random_marks, render_student_page
    from tools.scansim_marks import random_scan_params

    def once():
        rng = np.random.default_rng(42)
        marks = random_marks(layout, rng)
        img = render_student_page(blank_pdf, layout, 1, marks, random_scan_params(rng), rng)
        return marks, np.asarray(img)

    (m1, a1), (m2, a2) = once(), once()
    assert m1 == m2 and np.array_equal(a1, a2)
