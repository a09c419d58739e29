"""Pen marks and scanner effects for the scan simulator (grayscale, PIL + NumPy).

Everything takes an explicit ``numpy.random.Generator`` so a seed reproduces a page exactly.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

MARKS = ("empty", "cross", "filled", "filled_recrossed")
CROSS_STYLES = ("x", "tick", "slash")
FONT_FILES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Oblique.ttf",
              "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def pen_gray(rng: np.random.Generator) -> int:
    """Black or dark-blue ballpoint as seen by a grayscale scanner."""
    return int(rng.uniform(10, 40)) if rng.random() < 0.5 else int(rng.uniform(35, 75))


def _stroke(draw: ImageDraw.ImageDraw, pts_mm, width_mm: float, ppm: float, pen: int,
            rng: np.random.Generator) -> None:
    """A slightly bowed hand stroke through the points, round-capped."""
    pts = [(x * ppm, y * ppm) for x, y in pts_mm]
    fine = []
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        bow = rng.normal(0, 0.04) * math.hypot(x1 - x0, y1 - y0)
        nx, ny = -(y1 - y0), x1 - x0
        norm = math.hypot(nx, ny) or 1.0
        for t in np.linspace(0, 1, 8, endpoint=False):
            b = bow * 4 * t * (1 - t)
            fine.append((x0 + (x1 - x0) * t + nx / norm * b, y0 + (y1 - y0) * t + ny / norm * b))
    fine.append(pts[-1])
    w = max(1, int(round(width_mm * ppm)))
    draw.line(fine, fill=pen, width=w, joint="curve")
    r = w / 2
    for x, y in (fine[0], fine[-1]):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=pen)


def _rot(points, angle_deg: float):
    t = math.radians(angle_deg)
    c, s = math.cos(t), math.sin(t)
    return [(c * x - s * y, s * x + c * y) for x, y in points]


def draw_cross(draw, cx, cy, side, ppm, pen, rng, style: str = "x") -> None:
    width = rng.uniform(0.3, 0.9)
    jx, jy = rng.normal(0, 0.08 * side, 2).clip(-0.15 * side, 0.15 * side)
    slant = rng.uniform(-15, 15)
    if style == "x":
        h = side / 2 * rng.uniform(0.6, 1.15)
        arms = [[(-h, -h * rng.uniform(0.8, 1.2)), (h, h * rng.uniform(0.8, 1.2))],
                [(h * rng.uniform(0.8, 1.2), -h), (-h * rng.uniform(0.8, 1.2), h)]]
    elif style == "tick":
        h = side / 2 * rng.uniform(0.7, 1.1)
        arms = [[(-0.7 * h, 0.0), (-0.15 * h, 0.7 * h), (0.9 * h, -0.9 * h)]]
    else:  # slash
        h = side / 2 * rng.uniform(0.6, 1.1)
        sign = 1 if rng.random() < 0.7 else -1
        arms = [[(-h, sign * h), (h, -sign * h)]]
    for arm in arms:
        pts = [(cx + jx + x, cy + jy + y) for x, y in _rot(arm, slant)]
        _stroke(draw, pts, width, ppm, pen, rng)


def draw_fill(draw, cx, cy, side, ppm, pen, rng) -> None:
    """Blacked-out box: solid or a dense scribble, sometimes spilling over the outline."""
    spill = rng.uniform(0.0, 0.5)
    half = side / 2 + spill
    if rng.random() < 0.4:
        poly = [(cx - half + rng.normal(0, 0.1), cy - half + rng.normal(0, 0.1)),
                (cx + half + rng.normal(0, 0.1), cy - half + rng.normal(0, 0.1)),
                (cx + half + rng.normal(0, 0.1), cy + half + rng.normal(0, 0.1)),
                (cx - half + rng.normal(0, 0.1), cy + half + rng.normal(0, 0.1))]
        draw.polygon([(x * ppm, y * ppm) for x, y in poly], fill=pen)
        return
    width = rng.uniform(0.6, 1.0)
    step = width * rng.uniform(0.45, 0.7)
    ys = np.arange(cy - half + width / 2, cy + half - width / 2 + 1e-6, step)
    pts = []
    for i, yy in enumerate(ys):
        xs = (cx - half + width / 2, cx + half - width / 2)
        if i % 2:
            xs = xs[::-1]
        pts += [(xs[0] + rng.normal(0, 0.1), yy), (xs[1] + rng.normal(0, 0.1), yy + step / 2)]
    _stroke(draw, pts, width, ppm, pen, rng)


def draw_mark(draw, mark: str, cx: float, cy: float, side: float, ppm: float,
              rng: np.random.Generator, style: str = "x") -> None:
    """Draw one truth mark on a box centred at (cx, cy) mm."""
    pen = pen_gray(rng)
    if mark == "cross":
        draw_cross(draw, cx, cy, side, ppm, pen, rng, style)
    elif mark in ("filled", "filled_recrossed"):
        draw_fill(draw, cx, cy, side, ppm, pen, rng)
        if mark == "filled_recrossed":
            lx = cx - side * rng.uniform(1.05, 1.45)
            ly = cy + rng.normal(0, 0.08 * side)
            draw_cross(draw, lx, ly, side * rng.uniform(0.65, 0.95), ppm, pen_gray(rng), rng, "x")


def draw_handwriting(img: Image.Image, x_mm: float, y_mm: float, lines, ppm: float,
                     rng: np.random.Generator) -> None:
    """Handwriting-like answer text: a plain font with per-word size, baseline and slant
    jitter (enough to exercise OCR and to put pen ink near, not in, the boxes)."""
    font_file = next((f for f in FONT_FILES if Path(f).is_file()), None)
    pen = pen_gray(rng)
    y = y_mm
    for line in lines:
        x = x_mm + rng.uniform(-1, 2)
        for word in line.split():
            size = rng.uniform(3.6, 4.4) * ppm
            font = ImageFont.truetype(font_file, int(size)) if font_file else ImageFont.load_default()
            bbox = font.getbbox(word)
            tw, th = bbox[2] + 4, bbox[3] + 8
            tile = Image.new("L", (tw, th), 0)
            ImageDraw.Draw(tile).text((2, 2), word, fill=255, font=font)
            tile = tile.rotate(rng.uniform(-4, 4), resample=Image.BILINEAR, expand=True)
            px, py = int(x * ppm), int((y + rng.normal(0, 0.3)) * ppm)
            ink = Image.new("L", tile.size, pen)
            region = (px, py, px + tile.size[0], py + tile.size[1])
            base = img.crop(region)
            img.paste(Image.composite(ink, base, tile), region[:2])
            x += tile.size[0] / ppm + rng.uniform(1.5, 3.0)
        y += rng.uniform(8, 10)


@dataclass(frozen=True)
class ScanParams:
    dpi: float              # resolution of the produced image (what metadata says)
    scale: float            # scanner scale error (content size factor)
    rotation: float         # degrees, positive = clockwise on screen
    shift_mm: tuple[float, float]
    upside_down: bool
    blur: float             # Gaussian radius, px
    noise: float            # Gaussian sigma, gray levels
    jpeg: int               # JPEG quality (0 = no JPEG)
    shadow: float           # max darkening of the illumination gradient (0..1)

    def as_dict(self) -> dict:
        return {"dpi": self.dpi, "scale": round(self.scale, 4), "rotation": round(self.rotation, 3),
                "shift_mm": [round(v, 2) for v in self.shift_mm], "upside_down": self.upside_down,
                "blur": round(self.blur, 2), "noise": round(self.noise, 1), "jpeg": self.jpeg,
                "shadow": round(self.shadow, 3)}


def random_scan_params(rng: np.random.Generator, dpi: float | None = None,
                       upside_down_rate: float = 0.08) -> ScanParams:
    return ScanParams(
        dpi=float(dpi if dpi is not None else rng.choice([150, 200, 240, 300])),
        scale=float(rng.uniform(0.97, 1.03)),
        rotation=float(rng.uniform(-5, 5)),
        shift_mm=(float(rng.uniform(-6, 6)), float(rng.uniform(-6, 6))),
        upside_down=bool(rng.random() < upside_down_rate),
        blur=float(rng.uniform(0.0, 1.2)),
        noise=float(rng.uniform(1, 9)),
        jpeg=int(rng.choice([0, 40, 55, 70, 85])),
        shadow=float(rng.uniform(0.0, 0.35)),
    )


def apply_scan(img: Image.Image, params: ScanParams, rng: np.random.Generator) -> Image.Image:
    """Scanner geometry and degradation on an upright grayscale page at ``params.dpi``."""
    w, h = img.size
    ppm = params.dpi / 25.4
    t = math.radians(params.rotation)
    c, s = math.cos(t), math.sin(t)
    k = params.scale
    sx, sy = params.shift_mm[0] * ppm, params.shift_mm[1] * ppm
    # output = centre + k R (input - centre) + shift  ->  input = centre + R^T (output - centre - shift) / k
    ox, oy = w / 2, h / 2
    a, b, d, e = c / k, s / k, -s / k, c / k
    coeffs = (a, b, ox - a * (ox + sx) - b * (oy + sy), d, e, oy - d * (ox + sx) - e * (oy + sy))
    out = img.transform((w, h), Image.AFFINE, coeffs, resample=Image.BICUBIC, fillcolor=255)
    if params.upside_down:
        out = out.transpose(Image.Transpose.ROTATE_180)
    if params.blur > 0.05:
        out = out.filter(ImageFilter.GaussianBlur(params.blur))
    arr = np.asarray(out, dtype=np.float32)
    if params.shadow > 0:
        ang = rng.uniform(0, 2 * math.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        ramp = ((xx / w - 0.5) * math.cos(ang) + (yy / h - 0.5) * math.sin(ang)) + 0.5
        edge = np.exp(-np.minimum(xx, w - xx) / (rng.uniform(8, 25) * ppm))  # binding shadow
        light = 1.0 - params.shadow * np.clip(0.7 * ramp + 0.6 * edge, 0, 1)
        arr = arr * light
    arr = arr * rng.uniform(0.9, 1.0) + rng.uniform(0, 12)       # exposure / paper tone
    arr += rng.standard_normal(arr.shape, dtype=np.float32) * params.noise
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if params.jpeg:
        buf = io.BytesIO()
        out.save(buf, format="JPEG", quality=params.jpeg)
        out = Image.open(io.BytesIO(buf.getvalue())).convert("L")
    return out


def compose_marks(page: Image.Image, ink: Image.Image) -> Image.Image:
    """Pen ink on top of print: the darker of the two wins (ink is opaque enough)."""
    return ImageChops.darker(page, ink)
