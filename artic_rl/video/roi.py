"""Regions of interest and the named ROI levels (nested quality rings around a region).

The authors' context-aware map (Artic follow-up) gives ΔQP 0 inside the predicted box and lets it
grow with distance to about +25 at the far edge (uniform +18 when there is no box). We keep that
shape with a few nested rectangles, each a FFmpeg ``addroi`` region whose ``qoffset`` libx264
multiplies by 51 (the QP range): qoffset +0.1 ≈ +5 QP, +0.5 ≈ +25 QP.

====== ============================================== ==========================
level  rings (region scale -> qoffset)                  ΔQP far away
====== ============================================== ==========================
0      none (uniform encode)                            0
1      region 0, x2 +0.1, background +0.2              ≈ +10
2      region 0, x2 +0.2, x4 +0.3, background +0.4     ≈ +20
3      region 0, x2 +0.25, x4 +0.4, background +0.5    ≈ +25
====== ============================================== ==========================

Under constant-bitrate rate control the encoder lowers its base QP to spend what the background
gives up, so the region itself gets better than uniform quality.
"""

from __future__ import annotations

from dataclasses import dataclass

ROI_LEVELS: tuple[int, ...] = (0, 1, 2, 3)

# level -> ((scale of the region, qoffset), ..., (0.0 = whole frame, background qoffset))
_RINGS: dict[int, tuple[tuple[float, float], ...]] = {
    0: (),
    1: ((1.0, 0.0), (2.0, 0.1), (0.0, 0.2)),
    2: ((1.0, 0.0), (2.0, 0.2), (4.0, 0.3), (0.0, 0.4)),
    3: ((1.0, 0.0), (2.0, 0.25), (4.0, 0.4), (0.0, 0.5)),
}
QP_RANGE = 51  # libx264 maps qoffset q to q * 51 QP (8-bit)


@dataclass(frozen=True)
class Region:
    """A rectangle in pixels of the luma plane: left ``x``, top ``y``, width ``w``, height ``h``."""

    x: int
    y: int
    w: int
    h: int

    def area_fraction(self, width: int, height: int) -> float:
        """Fraction of a ``width`` x ``height`` frame this region covers (after clipping)."""
        c = self.clipped(width, height)
        return (c.w * c.h) / float(width * height)

    def clipped(self, width: int, height: int) -> Region:
        """This region clipped to the frame (at least 1x1 pixel)."""
        x0 = min(max(self.x, 0), width - 1)
        y0 = min(max(self.y, 0), height - 1)
        x1 = min(max(self.x + self.w, x0 + 1), width)
        y1 = min(max(self.y + self.h, y0 + 1), height)
        return Region(x0, y0, x1 - x0, y1 - y0)

    def scaled(self, factor: float, width: int, height: int) -> Region:
        """The region grown about its centre by ``factor`` in each dimension, clipped to the frame."""
        cx, cy = self.x + self.w / 2.0, self.y + self.h / 2.0
        w, h = self.w * factor, self.h * factor
        return Region(round(cx - w / 2), round(cy - h / 2), round(w), round(h)).clipped(
            width, height
        )

    def slices(self) -> tuple[slice, slice]:
        """Numpy (rows, cols) slices of the region."""
        return slice(self.y, self.y + self.h), slice(self.x, self.x + self.w)

    @classmethod
    def parse(cls, text: str) -> Region:
        """Parse ``"x,y,w,h"`` (pixels)."""
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 4:
            raise ValueError(f"region must be x,y,w,h, got {text!r}")
        x, y, w, h = (int(p) for p in parts)
        if w <= 0 or h <= 0:
            raise ValueError(f"region width and height must be positive, got {text!r}")
        return cls(x, y, w, h)


def roi_rings(
    level: int, region: Region | None, width: int, height: int
) -> list[tuple[Region, float]]:
    """The (rectangle, qoffset) list of a ROI level, innermost first (the first one wins on overlap).

    Level 0 or no region gives an empty list (uniform encode).
    """
    if level not in _RINGS:
        raise ValueError(f"unknown ROI level {level}; levels are {ROI_LEVELS}")
    if level == 0 or region is None:
        return []
    rings: list[tuple[Region, float]] = []
    for scale, qoffset in _RINGS[level]:
        if scale == 0.0:
            rect = Region(0, 0, width, height)
        else:
            rect = region.clipped(width, height).scaled(scale, width, height)
        rings.append((rect, qoffset))
    return rings


def delta_qp_map(
    level: int, region: Region | None, width: int, height: int, block: int = 16
) -> list[list[int]]:
    """The intended ΔQP per ``block`` x ``block`` macroblock (for plots and tests)."""
    mbx, mby = -(-width // block), -(-height // block)
    grid = [[0] * mbx for _ in range(mby)]
    for rect, qoffset in reversed(roi_rings(level, region, width, height)):
        dqp = round(qoffset * QP_RANGE)
        for by in range(rect.y // block, min(mby, -(-(rect.y + rect.h) // block))):
            for bx in range(rect.x // block, min(mbx, -(-(rect.x + rect.w) // block))):
                grid[by][bx] = dqp
    return grid
