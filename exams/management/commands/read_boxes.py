from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from grader.types import Marking


class Command(BaseCommand):
    help = ("Diagnostic: the checkboxes found on each page of a PDF or image, without a "
            "template: position (mm from the top-left), mark, checked (by the marking "
            "convention), confidence. An image without DPI metadata is measured as an A4 or "
            "Letter sheet.")

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="FILE.pdf|IMAGE")
        parser.add_argument("--json", action="store_true")
        parser.add_argument(
            "--marking", choices=[m.value for m in Marking], default=Marking.CROSS.value,
            help="what a mark means: cross (default: a crossed box is checked, a filled one "
                 "cancelled, a cross left of a filled box checks it again) or bubble (a filled "
                 "bubble is checked; a cross or tick in it is checked but uncertain)")

    def handle(self, *args, **opts):
        from grader.omr import read_document_boxes
        from grader.render import RenderError

        path = Path(opts["path"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            boxes = read_document_boxes(path, Marking(opts["marking"]))
        except (RenderError, OSError, ValueError) as exc:
            raise CommandError(f"{path}: {exc}") from None
        if opts["json"]:
            self.stdout.write(json.dumps(boxes))
            return
        for b in boxes:
            self.stdout.write(f"page {b['page']}  x {b['x']:6.1f}  y {b['y']:6.1f}  "
                              f"{b['w']:.1f}×{b['h']:.1f} mm  {b['mark']:<17} "
                              f"{'checked' if b['checked'] else '-':<8} {b['confidence']:.2f}")
        self.stdout.write(f"{len(boxes)} boxes")
