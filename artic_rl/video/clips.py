"""Synthetic "chat scene" clips: a hand-held camera over a textured scene with signs of known text.

Every clip is deterministic from its seed. A scene is a canvas a little larger than the frame:
a smooth random texture, a few coloured objects, and signs (panels) carrying real words and numbers
at three text sizes. The camera pans smoothly with a small shake. Each sign gives one question
("What is written on the yellow sign?") whose answer is its text and whose region is the union of
the sign's boxes over the clip (frame pixels) -- the ground truth for the offline OCR judge.

Text sizes (font pixel height as a fraction of the frame height): small 0.028 (15 px at 540p),
medium 0.05, large 0.09: at low bitrates the small text is the first to become unreadable.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.ndimage import zoom

from artic_rl.video.roi import Region

TEXT_SIZES: dict[str, float] = {"small": 0.028, "medium": 0.05, "large": 0.09}
_WORDS = (
    "EXIT", "OPEN", "CAFE", "PHARMACY", "BAKERY", "PLATFORM", "TICKETS", "PARKING",
    "LIBRARY", "GARDEN", "STATION", "MUSEUM", "HOTEL", "MARKET", "BOOKS", "DENTIST",
)  # fmt: skip
_COLOURS: dict[str, tuple[int, int, int]] = {
    "white": (245, 245, 240),
    "yellow": (250, 215, 60),
    "green": (120, 200, 120),
    "blue": (120, 170, 240),
    "orange": (250, 160, 80),
}


@dataclass(frozen=True)
class ClipQuestion:
    """A question about a clip with its known answer and region (frame pixels, union over time)."""

    question: str
    answer: str
    region: Region
    category: str  # "text"
    text_size: str  # small / medium / large
    text_height_px: int


@dataclass(frozen=True)
class SyntheticClip:
    """Frames (yuv420p arrays of shape (n, height * 3 // 2, width), uint8) and questions."""

    clip_id: str
    width: int
    height: int
    fps: float
    frames: np.ndarray
    questions: tuple[ClipQuestion, ...]

    def questions_json(self) -> str:
        """The questions as a JSON document (``clip_id``, ``width``, ``height``, ``questions``)."""
        doc = {
            "clip_id": self.clip_id,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "questions": [asdict(q) for q in self.questions],
        }
        return json.dumps(doc, indent=1)

    def save(self, video: str | Path, crf: int = 4, preset: str = "veryfast") -> Path:
        """Encode the frames to ``video`` (H.264, near-lossless at the default ``crf``) and write
        the questions beside it (``<stem>.json``); returns ``video``."""
        import av

        video = Path(video)
        with av.open(str(video), "w") as container:
            stream = container.add_stream(
                "libx264", rate=round(self.fps), options={"crf": str(crf), "preset": preset}
            )
            stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
            for arr in self.frames:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(arr, format="yuv420p")))
            container.mux(stream.encode(None))
        video.with_suffix(".json").write_text(self.questions_json())
        return video


@lru_cache(maxsize=1)
def _font_path() -> str:
    import matplotlib

    return str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf")


def _texture(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth coloured texture plus fine grain, uint8 RGB."""
    coarse = rng.uniform(60, 200, size=(max(2, h // 48), max(2, w // 48), 3))
    smooth = zoom(coarse, (h / coarse.shape[0], w / coarse.shape[1], 1), order=3)[:h, :w]
    fine = rng.normal(0.0, 6.0, size=(h, w, 1))
    return np.clip(smooth + fine, 0, 255).astype(np.uint8)


def _sign_text(rng: np.random.Generator, kind: int) -> str:
    word = str(rng.choice(_WORDS))
    if kind == 0:
        return word
    if kind == 1:
        return f"{word} {int(rng.integers(10, 999))}"
    return f"{int(rng.integers(1, 99))}.{int(rng.integers(0, 99)):02d} EUR"


def _draw_scene(width: int, height: int, margin: int, rng: np.random.Generator):
    """The canvas (RGB) and the signs placed on it: (text, colour, size name, box on canvas)."""
    from PIL import Image, ImageDraw, ImageFont

    ch, cw = height + 2 * margin, width + 2 * margin
    img = Image.fromarray(_texture(ch, cw, rng))
    draw = ImageDraw.Draw(img)
    for _ in range(6):  # objects
        x0, y0 = int(rng.integers(0, cw - 80)), int(rng.integers(0, ch - 80))
        size = int(rng.integers(30, max(31, height // 4)))
        fill = tuple(int(c) for c in rng.integers(20, 235, size=3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x0 + size, y0 + size), fill=fill)
    signs = []
    colour_names: list[str] = list(_COLOURS)
    rng.shuffle(colour_names)
    taken: list[tuple[int, int, int, int]] = []
    for k, size_name in enumerate(("small", "medium", "large")):
        font_px = max(10, round(TEXT_SIZES[size_name] * height))
        font = ImageFont.truetype(_font_path(), font_px)
        text = _sign_text(rng, k % 3)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        pad = max(4, font_px // 3)
        bw, bh = int(right - left) + 2 * pad, int(bottom - top) + 2 * pad
        for _attempt in range(50):
            x0 = int(rng.integers(2 * margin, cw - 2 * margin - bw))
            y0 = int(rng.integers(2 * margin, ch - 2 * margin - bh))
            box = (x0, y0, x0 + bw, y0 + bh)
            if all(box[2] < t[0] or box[0] > t[2] or box[3] < t[1] or box[1] > t[3] for t in taken):
                break
        taken.append(box)
        colour = colour_names[k % len(colour_names)]
        draw.rectangle(box, fill=_COLOURS[colour], outline=(20, 20, 20), width=2)
        draw.text((x0 + pad - left, y0 + pad - top), text, font=font, fill=(10, 10, 10))
        signs.append((text, colour, size_name, font_px, box))
    return np.asarray(img), signs


def _camera_path(n: int, fps: float, margin: int, rng: np.random.Generator) -> np.ndarray:
    """Integer (dx, dy) crop offsets in [0, 2 * margin]: a slow pan plus a small hand shake."""
    t = np.arange(n) / fps
    period = rng.uniform(4.0, 8.0, size=2)
    phase = rng.uniform(0, 2 * math.pi, size=2)
    pan = 0.8 * margin * np.sin(2 * math.pi * t[:, None] / period + phase)
    shake = np.cumsum(rng.normal(0.0, 0.6, size=(n, 2)), axis=0)
    shake -= np.linspace(0, 1, n)[:, None] * shake[-1]  # no net drift
    offsets = margin + pan + np.clip(shake, -0.15 * margin, 0.15 * margin)
    return np.clip(np.round(offsets), 0, 2 * margin).astype(np.int64)


def make_clip(
    seed: int, width: int = 640, height: int = 360, seconds: float = 5.0, fps: float = 30.0
) -> SyntheticClip:
    """The synthetic clip of ``seed`` (same seed and arguments -> identical frames)."""
    import av

    rng = np.random.default_rng(seed)
    margin = max(8, round(0.06 * width)) // 2 * 2
    canvas, signs = _draw_scene(width, height, margin, rng)
    n = max(1, round(seconds * fps))
    path = _camera_path(n, fps, margin, rng)
    frames = np.empty((n, height * 3 // 2, width), dtype=np.uint8)
    for i, (dx, dy) in enumerate(path):
        rgb = np.ascontiguousarray(canvas[dy : dy + height, dx : dx + width])
        grain = rng.integers(-1, 2, size=rgb.shape, dtype=np.int16)
        rgb = np.clip(rgb.astype(np.int16) + grain, 0, 255).astype(np.uint8)
        frames[i] = (
            av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p").to_ndarray()
        )
    questions = []
    for text, colour, size_name, font_px, (x0, y0, x1, y1) in signs:
        lo, hi = path.min(axis=0), path.max(axis=0)
        region = Region(
            x0 - int(hi[0]),
            y0 - int(hi[1]),
            x1 - x0 + int(hi[0] - lo[0]),
            y1 - y0 + int(hi[1] - lo[1]),
        )
        questions.append(
            ClipQuestion(
                question=f"What is written on the {colour} sign?",
                answer=text,
                region=region.clipped(width, height),
                category="text",
                text_size=size_name,
                text_height_px=font_px,
            )
        )
    return SyntheticClip(f"synth-{seed:04d}", width, height, fps, frames, tuple(questions))
