"""Scanned-looking test pages: typed text rendered with reportlab, rasterised by grader.render,
then skewed, turned, blurred or noised like a scan."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from grader.ocr import OCR_DPI
from grader.render import PageImage, render_pdf_page

ANSWER_LINES = (
    "Student: Junyu Yin G2101985L",
    "Question 1",
    "ii) The receptive field is 15x15 in the last feature map.",
    "iv) The output matrix is",
    "1 4 7 6",
    "5 17 27 20",
    "Question 2",
    "The RNN has 45 parameters and the model has 1476 weights in total.",
    "The attention weights are 0.2244 and 0.5512 for the first token.",
    "Question 3 b) The output shape is 5 x 8 x 8 with stride 3 and padding 1.",
)

# Tokens the OCR must get right on every readable variant of the page. "1 4 7 6" is the row
# Tesseract alone reads as "1476"; "1476" is a real number that must stay whole.
EXPECTED_TOKENS = ("Question 1", "ii)", "15x15", "1 4 7 6", "5 17 27 20", "45", "1476",
                   "0.2244", "0.5512", "Question 3")



def write_answer_pdf(path: Path, lines=ANSWER_LINES, font_size: float = 11) -> Path:
    pdf = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    pdf.setFont("Helvetica", font_size)
    y = A4[1] - 72
    for line in lines:
        pdf.drawString(64, y, line)
        y -= font_size * 1.6
    pdf.showPage()
    pdf.save()
    return path


def scanned(image: Image.Image, *, angle: float = 0.0, noise: float = 0.0, blur: float = 0.0,
            seed: int = 0) -> Image.Image:
    """The page as a scanner would deliver it: turned by ``angle`` (counter-clockwise, page
    size kept), blurred, with Gaussian sensor noise."""
    page = image
    if angle:
        page = page.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
    if blur:
        page = page.filter(ImageFilter.GaussianBlur(blur))
    if noise:
        pixels = np.asarray(page, dtype=np.float32)
        pixels = pixels + np.random.default_rng(seed).normal(0.0, noise, pixels.shape)
        page = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return page


@pytest.fixture(scope="session")
def clean_page(tmp_path_factory) -> PageImage:
    pdf = write_answer_pdf(tmp_path_factory.mktemp("ocr") / "answers.pdf")
    return render_pdf_page(pdf, 0, dpi=OCR_DPI)
