"""The grading core: pure Python, no Django imports.

Modules: ``types`` (the shared value types), ``pdf`` (text layers), ``render`` and ``ocr``
(scans), ``omr`` (checkboxes), ``segment`` (text -> per-question spans), ``parse`` (span ->
value), ``score`` (value + key -> score), ``pipeline`` (the whole path for one submission).
"""
