from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("Diagnostic: the checkboxes found on each page of a PDF or image, without a "
            "template: position (mm from the top-left), mark, checked, confidence.")

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="FILE.pdf|IMAGE")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        from grader.omr import read_document_boxes
        from grader.render import RenderError

        path = Path(opts["path"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            boxes = read_document_boxes(path)
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
