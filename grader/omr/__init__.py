"""Checkbox reading (OMR): find printed boxes, read their marks, register scans to the
blank exam's boxes. NumPy + Pillow only; no Django.

Marking rules (the exam's ``marking``, ``grader.types.Marking``; DESIGN.md "Marks on paper"):
``cross`` (the default): cross -> checked; filled (blacked) -> not checked; a cross to the LEFT
of a filled box -> checked again. ``bubble``: filled -> checked; a cross or tick in a bubble ->
checked but uncertain. Unsure boxes are returned with ``uncertain=True`` (to be flagged),
never silently decided.
"""
from grader.omr.boxes import Box, find_boxes, refine_box
from grader.omr.classify import CHECKED, MARKS, BoxFeatures, BoxReading, classify_box
from grader.omr.document import read_document_boxes, read_page_boxes
from grader.omr.register import (Registration, TemplateBox, assign_options,
                                 read_matching_template_page, read_template_boxes,
                                 register_page, sort_reading_order, template_from_pdf)

__all__ = ["Box", "BoxFeatures", "BoxReading", "CHECKED", "MARKS", "Registration", "TemplateBox",
           "assign_options", "classify_box", "find_boxes", "read_document_boxes",
           "read_matching_template_page", "read_page_boxes", "read_template_boxes", "refine_box",
           "register_page", "sort_reading_order", "template_from_pdf"]
