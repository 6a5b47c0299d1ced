"""``CodecProfile``: what the simulator needs from real encodes, as precomputed lookup tables.

Built from a profile file written by the profiler (:mod:`artic_rl.video.profiler`). Two questions,
answered in microseconds without encoding:

* :meth:`CodecProfile.frame_sizes_bytes` -- sizes of the next frames at (bitrate, fps, ROI level):
  steady P-frame size, keyframe size, the rate controller's pay-back after a keyframe, and
  rate-control noise resampled from the real encodes' residuals.
* :meth:`CodecProfile.equivalent_kbps` -- the uniform, full-frame-rate bitrate that would give the
  question region the same quality (luma PSNR) that it gets at (bitrate, fps, ROI level). A ROI
  level > 0 and a lower frame rate raise it; ``roi_hit=False`` (the region lies outside the encoded
  ROI) lowers it to what the background got.

Units: every kbps here (arguments, grid, results) is in the profile's units. The shipped default
profile encodes 640x360 synthetic clips at the bits per pixel of a 1920x1080 stream, so its kbps are
**1080p-equivalent kbps** -- the units of the authors' tiers (200 ... 3150 kbps at 1080p) that the
accuracy model is fitted to -- and frame sizes are those of the 1080p stream (native bytes x 9).
Between grid points everything is interpolated in log-kbps; outside the grid it is clamped.
"""

from __future__ import annotations

import gzip
import json
import math
from bisect import bisect_right
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

from artic_rl.errors import InputError

#: The profile document's format name and version (written by :mod:`.profiler`).
FORMAT = "artic-rl-codec-profile"
VERSION = 1


def write_profile(doc: dict, path: Path) -> None:
    """Write JSON (gzip-compressed when the name ends in ``.gz``)."""
    text = json.dumps(doc, separators=(",", ":"))
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text)


def read_profile_doc(path: str | Path) -> dict:
    """Read and check a profile document; InputError names the file on any problem."""
    p = Path(path)
    try:
        if p.suffix == ".gz":
            with gzip.open(p, "rt", encoding="utf-8") as fh:
                doc = json.load(fh)
        else:
            doc = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError, EOFError) as err:
        raise InputError(f"cannot read profile: {err}", p) from err
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"not a codec profile (format is not {FORMAT!r})", p, field="format")
    if doc.get("version") != VERSION:
        raise InputError(f"unsupported profile version {doc.get('version')!r}", p, field="version")
    return doc


ROI_AREA_RANGE = (0.005, 0.3)  # region area fractions are clamped to this range
PAYBACK_S = 1.0  # after a keyframe the rate controller spends less for about this long
EQUIVALENT_SPAN = 4.0  # equivalent kbps is extrapolated at most this factor beyond the grid
DEFAULT_PROFILE = "default.json.gz"


class CodecProfile:
    """Lookup tables over the grid ``kbps_grid`` x ``fps_grid`` x ``roi_levels``."""

    def __init__(self, doc: dict, source: str = "<memory>") -> None:
        self.source = source
        self.metadata: dict = dict(doc.get("metadata", {}))
        clips = {c["clip_id"]: c for c in doc["clips"]}
        cells = doc["cells"]
        if not cells:
            raise InputError("profile has no cells", source, field="cells")
        self.kbps_grid: tuple[float, ...] = tuple(sorted({float(c["kbps_target"]) for c in cells}))
        self.fps_grid: tuple[float, ...] = tuple(sorted({float(c["fps"]) for c in cells}))
        self.roi_levels: tuple[int, ...] = tuple(sorted({int(c["roi_level"]) for c in cells}))
        self._log_kbps = [math.log(k) for k in self.kbps_grid]
        self._log_fps = [math.log(f) for f in self.fps_grid]
        self._build_sizes(cells, source)
        self._build_quality(cells, clips)
        # (kbps, fps, roi_level) -> grid position, filled by queries (a policy uses few settings)
        self._cells: dict[tuple[float, float, int], _Cell] = {}

    # -- loading ---------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> CodecProfile:
        """Load a profile file written by ``artic-rl profile`` (JSON, optionally gzip)."""
        return cls(read_profile_doc(path), str(path))

    @classmethod
    def default(cls) -> CodecProfile:
        """The shipped profile (``artic_rl/data/profiles/default.json.gz``)."""
        ref = resources.files("artic_rl") / "data" / "profiles" / DEFAULT_PROFILE
        with resources.as_file(ref) as path:
            return cls.load(path)

    # -- tables ----------------------------------------------------------------------------
    def _build_sizes(self, cells: list[dict], source: str) -> None:
        shape = (len(self.kbps_grid), len(self.fps_grid), len(self.roi_levels))
        self._log_p = np.zeros(shape)
        self._log_i = np.zeros(shape)
        self._payback = np.ones(shape)
        self._resid: dict[tuple[int, int, int], np.ndarray] = {}  # multiplicative noise pools
        groups: dict[tuple[int, int, int], list[dict]] = defaultdict(list)
        for c in cells:
            groups[self._index(c)].append(c)
        for idx in np.ndindex(*shape):
            group = groups.get(idx)
            if not group:
                raise InputError(
                    f"profile grid has a hole at {self._describe(idx)}", source, field="cells"
                )
            steady, early, keys, resid = [], [], [], []
            for c in group:
                scale = c["kbps_actual"] / c["kbps_native"] if c["kbps_native"] > 0 else 1.0
                sizes = np.asarray(c["size_bytes"], dtype=np.float64) * scale
                types = c["frame_type"]
                settle = max(1, round(PAYBACK_S * c["fps"]))
                is_p = np.array([t == "P" for t in types])
                after = np.arange(len(sizes)) >= settle
                st = sizes[is_p & after] if np.any(is_p & after) else sizes[is_p]
                steady.append(st)
                early.append(sizes[is_p & ~after])
                keys.append(sizes[~is_p])
                if len(st):
                    resid.append(np.log(np.maximum(st, 1.0) / np.mean(st)))
            p_all = np.concatenate(steady) if steady else np.ones(1)
            p_mean = float(np.mean(p_all)) if len(p_all) else 1.0
            k_all = np.concatenate(keys)
            e_all = np.concatenate(early)
            self._log_p[idx] = math.log(max(p_mean, 1.0))
            self._log_i[idx] = math.log(max(float(np.mean(k_all)) if len(k_all) else p_mean, 1.0))
            self._payback[idx] = float(np.mean(e_all)) / p_mean if len(e_all) else 1.0
            pool = np.concatenate(resid) if resid else np.zeros(1)
            self._resid[idx] = np.exp(pool) / float(np.mean(np.exp(pool)))  # factors, mean 1

    def _build_quality(self, cells: list[dict], clips: dict[str, dict]) -> None:
        """Equivalent-kbps tables: log(eq / kbps) = a + b * log(area), for hit and miss."""
        max_fps = self.fps_grid[-1]
        # uniform full-rate curve per (clip, region): psnr over the kbps grid
        curves: dict[tuple[str, int], np.ndarray] = {}
        by_key: dict[tuple[str, int, int, int, int], dict] = {}
        for c in cells:
            i, j, m = self._index(c)
            by_key[(c["clip_id"], i, j, m, int(c["roi_index"]))] = c
        for cid, clip in clips.items():
            for r in range(len(clip["regions"])):
                psnr = [
                    _mean_region(by_key.get((cid, i, len(self.fps_grid) - 1, 0, -1)), r)
                    for i in range(len(self.kbps_grid))
                ]
                if all(math.isfinite(p) for p in psnr) and self.fps_grid[-1] == max_fps:
                    curves[(cid, r)] = np.maximum.accumulate(np.asarray(psnr))
        shape = (len(self.kbps_grid), len(self.fps_grid), len(self.roi_levels))
        self._hit_a, self._hit_b = np.zeros(shape), np.zeros(shape)
        self._miss_a, self._miss_b = np.zeros(shape), np.zeros(shape)
        for idx in np.ndindex(*shape):
            i, j, m = idx
            hit: list[tuple[float, float]] = []
            miss: list[tuple[float, float]] = []
            for (cid, r), curve in curves.items():
                area = math.log(_clamp_area(clips[cid]["regions"][r]["area"]))
                level0 = self.roi_levels[m] == 0
                for (kc, ki, kj, km, kr), c in by_key.items():
                    if (kc, ki, kj, km) != (cid, i, j, m):
                        continue
                    rho = self._log_ratio(curve, _mean_region(c, r), i)
                    if level0 or kr == r:
                        hit.append((area, rho))
                    else:
                        miss.append((area, rho))
            self._hit_a[idx], self._hit_b[idx] = _fit_line(hit)
            self._miss_a[idx], self._miss_b[idx] = _fit_line(miss or hit)
            if self.roi_levels[m] == 0 and j == len(self.fps_grid) - 1:
                self._hit_a[idx] = self._hit_b[idx] = 0.0  # the definition: eq = kbps
                self._miss_a[idx] = self._miss_b[idx] = 0.0

    def _log_ratio(self, curve: np.ndarray, psnr: float, i: int) -> float:
        """log(equivalent kbps / grid kbps i) for a region PSNR on a uniform curve."""
        lk = np.asarray(self._log_kbps)
        u = curve + 1e-6 * np.arange(len(curve))
        if psnr <= u[0]:
            slope = (u[1] - u[0]) / (lk[1] - lk[0]) if len(u) > 1 else 0.0
            eq = lk[0] + ((psnr - u[0]) / slope if slope > 1e-3 else 0.0)
            eq = max(eq, lk[0] - math.log(EQUIVALENT_SPAN))
        elif psnr >= u[-1]:
            slope = (u[-1] - u[-2]) / (lk[-1] - lk[-2]) if len(u) > 1 else 0.0
            eq = lk[-1] + ((psnr - u[-1]) / slope if slope > 1e-3 else 0.0)
            eq = min(eq, lk[-1] + math.log(EQUIVALENT_SPAN))
        else:
            eq = float(np.interp(psnr, u, lk))
        return float(eq - lk[i])

    def _index(self, cell: dict) -> tuple[int, int, int]:
        return (
            self.kbps_grid.index(float(cell["kbps_target"])),
            self.fps_grid.index(float(cell["fps"])),
            self.roi_levels.index(int(cell["roi_level"])),
        )

    def _describe(self, idx: tuple[int, ...]) -> str:
        i, j, m = idx
        return f"kbps={self.kbps_grid[i]}, fps={self.fps_grid[j]}, roi_level={self.roi_levels[m]}"

    # -- queries ---------------------------------------------------------------------------
    def _kbps_pos(self, kbps: float) -> tuple[int, float]:
        """Grid index below ``kbps`` and the interpolation weight of the one above (clamped)."""
        lk = self._log_kbps
        x = math.log(kbps) if kbps > 0 else lk[0]
        if x <= lk[0] or len(lk) == 1:
            return 0, 0.0
        if x >= lk[-1]:
            return len(lk) - 2, 1.0
        i = bisect_right(lk, x) - 1
        return i, (x - lk[i]) / (lk[i + 1] - lk[i])

    def _fps_index(self, fps: float) -> int:
        memo: dict[float, int] = self.__dict__.setdefault("_fps_memo", {})
        j = memo.get(fps)
        if j is None:  # the nearest grid frame rate in log; an action sets one of a few
            x = math.log(max(fps, 1e-9))
            j = min(range(len(self._log_fps)), key=lambda k: abs(self._log_fps[k] - x))
            if len(memo) < _MAX_CELLS:
                memo[fps] = j
        return j

    def _level_index(self, roi_level: int) -> int:
        try:
            return self.roi_levels.index(roi_level)
        except ValueError:
            raise ValueError(
                f"ROI level {roi_level} not in profile levels {self.roi_levels}"
            ) from None

    def _cell(self, kbps: float, fps: float, roi_level: int) -> _Cell:
        """Grid position of a query and the values that depend on it alone (memoised)."""
        key = (kbps, fps, roi_level)
        cell = self._cells.get(key)
        if cell is None:
            i, w = self._kbps_pos(kbps)
            j, m = self._fps_index(fps), self._level_index(roi_level)
            i1 = min(i + 1, len(self.kbps_grid) - 1)
            log_p = (1 - w) * self._log_p[i, j, m] + w * self._log_p[i1, j, m]
            log_i = (1 - w) * self._log_i[i, j, m] + w * self._log_i[i1, j, m]
            cell = _Cell(
                i,
                w,
                j,
                m,
                i1,
                math.exp(log_p),
                self._pool(i1 if w >= 0.5 else i, j, m),
                math.exp(log_i),
                float((1 - w) * self._payback[i, j, m] + w * self._payback[i1, j, m]),
                max(1, round(PAYBACK_S * self.fps_grid[j])),
                (
                    float(self._hit_a[i, j, m]),
                    float(self._hit_b[i, j, m]),
                    float(self._hit_a[i1, j, m]),
                    float(self._hit_b[i1, j, m]),
                ),
                (
                    float(self._miss_a[i, j, m]),
                    float(self._miss_b[i, j, m]),
                    float(self._miss_a[i1, j, m]),
                    float(self._miss_b[i1, j, m]),
                ),
            )
            if len(self._cells) < _MAX_CELLS:
                self._cells[key] = cell
        return cell

    def _pool(self, i: int, j: int, m: int) -> tuple[float, ...]:
        """The residual pool of grid cell (i, j, m) as a tuple (built once per cell)."""
        memo: dict[tuple[int, int, int], tuple[float, ...]] = self.__dict__.setdefault(
            "_pool_memo", {}
        )
        pool = memo.get((i, j, m))
        if pool is None:
            pool = memo[(i, j, m)] = tuple(self._resid[(i, j, m)].tolist())
        return pool

    def sizes_row(self, kbps: float, fps: float, roi_level: int, scale: float = 0.0) -> np.ndarray:
        """The compiled timeline's row for a query, built without the memo (the simulated encoder's
        rate moves off the action grid for seconds after each change): the steady P-frame and the
        keyframe size, the pay-back ratio and length, ``scale``, then the residual pool, each the
        value :meth:`_cell` gives."""
        i, w = self._kbps_pos(kbps)
        j, m = self._fps_index(fps), self._level_index(roi_level)
        i1 = min(i + 1, len(self.kbps_grid) - 1)
        pool = self._resid[(i1 if w >= 0.5 else i, j, m)]
        # the grids as nested lists: the same doubles, without numpy's per-element cost
        lists = self.__dict__.get("_grid_lists")
        if lists is None:
            lists = self.__dict__["_grid_lists"] = tuple(
                a.tolist() for a in (self._log_p, self._log_i, self._payback)
            )
        log_p, log_i, payback = lists
        row = np.empty(5 + pool.size, dtype=np.float64)
        row[0] = math.exp((1 - w) * log_p[i][j][m] + w * log_p[i1][j][m])
        row[1] = math.exp((1 - w) * log_i[i][j][m] + w * log_i[i1][j][m])
        row[2] = (1 - w) * payback[i][j][m] + w * payback[i1][j][m]
        row[3] = float(max(1, round(PAYBACK_S * self.fps_grid[j])))
        row[4] = scale
        row[5:] = pool
        return row

    def frame_sizes_bytes(
        self,
        kbps: float,
        fps: float,
        roi_level: int,
        n: int,
        np_random: np.random.Generator,
        keyframe: np.ndarray | None = None,
    ) -> np.ndarray:
        """Sizes (int64 bytes) of the next ``n`` frames; ``keyframe[k]`` marks frame k a keyframe.

        P frames: the steady size times a residual drawn from the real encodes; keyframes: the
        measured keyframe size, without that residual (the P frames' residuals span 0.1x to 2.5x,
        while x264's keyframes at a bitrate are nearly constant: a keyframe scaled by a P residual
        could be a third of a real one, and the webrtc receiver's jitter buffer sizes its hold by
        the largest frame it saw); frames within ``PAYBACK_S`` after a keyframe in this call are
        scaled by the measured pay-back ratio.
        """
        cell = self._cell(kbps, fps, roi_level)
        pool = cell.pool
        # a handful of frames per call: plain Python beats numpy's per-call cost
        noise = [pool[k] for k in np_random.integers(0, len(pool), size=n).tolist()]
        sizes = [cell.p_bytes * x for x in noise]
        key = None if keyframe is None else np.asarray(keyframe, dtype=bool).tolist()
        if key is not None and any(key):
            # frames after a keyframe (within settle) pay back, keyframes take the keyframe size
            last_key = -1
            for k, is_key in enumerate(key):
                if is_key:
                    last_key = k
                    sizes[k] = cell.key_bytes
                elif last_key >= 0 and k - last_key < cell.settle:
                    sizes[k] *= cell.payback
        # round half to even (as np.rint), at least one byte
        return np.array([max(round(x), 1) for x in sizes], dtype=np.int64)

    def keyframe_bytes(self, kbps: float, fps: float, roi_level: int) -> int:
        """A keyframe's size in bytes, as :meth:`frame_sizes_bytes` gives it (no residual)."""
        return max(round(self._cell(kbps, fps, roi_level).key_bytes), 1)

    def mean_frame_bytes(self, kbps: float, fps: float, roi_level: int) -> float:
        """Mean steady P-frame size in bytes (no noise)."""
        i, w = self._kbps_pos(kbps)
        j, m = self._fps_index(fps), self._level_index(roi_level)
        i1 = min(i + 1, len(self.kbps_grid) - 1)
        return math.exp((1 - w) * self._log_p[i, j, m] + w * self._log_p[i1, j, m])

    def equivalent_kbps(
        self, kbps: float, fps: float, roi_level: int, roi_area: float, roi_hit: bool = True
    ) -> float:
        """Uniform, full-frame-rate bitrate giving the question region the same quality.

        Args:
            kbps: target bitrate (profile units; 1080p-equivalent for the default profile).
            fps: frames per second sent.
            roi_level: ROI level used for the encode (0 = uniform).
            roi_area: area of the question region as a fraction of the frame (clamped to
                ``ROI_AREA_RANGE``).
            roi_hit: False when the question region lay outside the encoded ROI.
        """
        cell = self._cell(kbps, fps, roi_level)
        w = cell.w
        lo, hi = ROI_AREA_RANGE
        la = math.log(min(max(roi_area, lo), hi))
        a0, b0, a1, b1 = cell.hit if roi_hit else cell.miss
        rho = (1 - w) * (a0 + b0 * la) + w * (a1 + b1 * la)
        return float(kbps * math.exp(rho))


_MAX_CELLS = 4096  # memoised query positions (the action grid has 480)


class _Cell(NamedTuple):
    """A query's grid position (kbps index and weight, fps and level index) and its constants."""

    i: int
    w: float
    j: int
    m: int
    i1: int
    p_bytes: float  # steady P-frame size, exp of the interpolated log size
    pool: tuple[float, ...]  # residual factors
    key_bytes: float  # keyframe size, exp of the interpolated log size
    payback: float  # P-frame size factor within ``settle`` frames after a keyframe
    settle: int
    hit: tuple[float, float, float, float]  # a, b at i and at i1 (region inside the ROI)
    miss: tuple[float, float, float, float]  # the same, region outside the ROI


def _clamp_area(area: float) -> float:
    lo, hi = ROI_AREA_RANGE
    return min(max(area, lo), hi)


def _mean_region(cell: dict | None, r: int) -> float:
    if cell is None or not cell["psnr_regions_db"]:
        return math.nan
    return float(np.mean([fr[r] for fr in cell["psnr_regions_db"]]))


def _fit_line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares (a, b) of y = a + b * x; a constant when the x values do not vary."""
    if not points:
        return 0.0, 0.0
    x = np.array([p[0] for p in points])
    y = np.array([p[1] for p in points])
    if len(points) < 2 or np.ptp(x) < 1e-6:
        return float(np.mean(y)), 0.0
    b, a = np.polyfit(x, y, 1)
    return float(a), float(b)
