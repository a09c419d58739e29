"""Images of submissions served to people: a page, or the answer's crop on it, as PNG. Used by
the admin (TAs) and the API (students, after release); both check permissions first.

The submission is fetched from storage (or found in this process's cache) before rendering;
PDFium itself is locked by ``grader.pdfium``."""
from __future__ import annotations

from django.http import Http404, HttpResponse

from exams import review
from exams.files import StorageUnavailable, local_copy
from exams.models import Answer
from grader.render import RenderError, render_pdf_page

PAGE_DPI = 100      # enough to read handwriting beside the parsed value (~100 KB a page)
THUMB_DPI = 40      # a whole page, small
CROP_DPI = 150      # the answer's band of the page, beside the parsed value


def png_response(answer: Answer, make_image, *, optimize: bool) -> HttpResponse:
    """``make_image(pdf_path)`` as a PNG response; 404 for a page that cannot be drawn, 503
    while storage cannot be reached."""
    try:
        with local_copy(answer.submission.file) as pdf:
            image = make_image(pdf)
    except (RenderError, FileNotFoundError, ValueError) as exc:
        raise Http404(str(exc)) from exc
    except StorageUnavailable as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain")
    response = HttpResponse(content_type="image/png")
    image.save(response, format="PNG", optimize=optimize)
    response["Cache-Control"] = "private, max-age=300"
    return response


def crop_or_page(answer: Answer, number: int, pdf: str):
    """The answer's crop on page ``number``, or the whole page when it cannot be placed."""
    crop = review.answer_crop(answer=answer, number=number, dpi=CROP_DPI)
    return crop if crop is not None else render_pdf_page(pdf, number - 1, dpi=PAGE_DPI).image
