"""Fit per-question saturation curves to measured accuracy (or confidence) tables.

``artic-rl accuracy fit --confidence ../shared/data/artic/confidence.csv
--devibench ../shared/data/devibench/datasets.csv --out artic_rl/data/accuracy/artic.json``
remakes the shipped ``artic`` parameters. Only fitted numbers are written, never the data.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from artic_rl.errors import InputError
from artic_rl.mllm.accuracy import CATEGORIES

MIN_MID_KBPS = 20.0
MAX_MID_KBPS = 8000.0
MIN_STEEPNESS = 0.5
MAX_STEEPNESS = 12.0
#: weight of the prior that pulls ``floor`` to 0 (the data has no point below 200 kbps)
FLOOR_PRIOR = 0.05


@dataclass(frozen=True)
class MeasuredTable:
    """Per-question scores at a set of bitrates: ``values[i, j]`` for question i at ``kbps[j]``."""

    ids: tuple[str, ...]
    kbps: np.ndarray
    values: np.ndarray


def load_confidence_csv(path: str | Path) -> MeasuredTable:
    """Read the authors' ``confidence.csv`` (``original_index, confidence_<k>kbps, ...``)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except OSError as err:
        raise InputError(f"cannot read: {err}", path) from err
    if not rows:
        raise InputError("empty file", path, 1)
    header, kbps = rows[0], []
    for col in header[1:]:
        m = re.fullmatch(r"confidence_(\d+(?:\.\d+)?)kbps", col.strip())
        if m is None:
            raise InputError("expected a column named confidence_<N>kbps", path, 1, col)
        kbps.append(float(m.group(1)))
    ids, values = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise InputError(f"expected {len(header)} fields, got {len(row)}", path, line)
        ids.append(row[0])
        vals = []
        for col, text in zip(header[1:], row[1:], strict=True):
            try:
                v = float(text)
            except ValueError as err:
                raise InputError(f"not a number: {text!r}", path, line, col) from err
            if not 0.0 <= v <= 1.0:
                raise InputError(f"confidence {v} outside [0, 1]", path, line, col)
            vals.append(v)
        values.append(vals)
    return MeasuredTable(tuple(ids), np.array(kbps), np.array(values, dtype=np.float64))


def _curve(params: np.ndarray, log_kbps: np.ndarray) -> np.ndarray:
    ceiling, floor_frac, log_mid, steep = params
    floor = ceiling * floor_frac
    return floor + (ceiling - floor) / (1.0 + np.exp(-steep * (log_kbps - log_mid)))


def fit_curve(kbps: np.ndarray, values: np.ndarray) -> dict[str, float]:
    """Least-squares logistic-in-log-kbps fit of one question; best of a few starting points."""
    log_k = np.log(np.asarray(kbps, dtype=np.float64))
    y = np.asarray(values, dtype=np.float64)

    def residuals(p: np.ndarray) -> np.ndarray:
        prior = FLOOR_PRIOR * p[0] * p[1]
        return np.append(_curve(p, log_k) - y, prior)

    lower = [0.0, 0.0, math.log(MIN_MID_KBPS), MIN_STEEPNESS]
    upper = [1.0, 1.0, math.log(MAX_MID_KBPS), MAX_STEEPNESS]
    best = None
    for mid in (60.0, 200.0, 300.0, 600.0, 1500.0):
        for steep in (2.0, 6.0):
            x0 = [max(min(float(y.max()), 0.999), 0.001), 0.1, math.log(mid), steep]
            res = least_squares(residuals, x0, bounds=(lower, upper), method="trf")
            if best is None or res.cost < best.cost - 1e-12:
                best = res
    assert best is not None
    ceiling, floor_frac, log_mid, steep = (float(v) for v in best.x)
    return {
        "floor": round(ceiling * floor_frac, 6),
        "ceiling": round(ceiling, 6),
        "mid_kbps": round(math.exp(log_mid), 4),
        "steepness": round(steep, 5),
    }


def category_mix(path: str | Path) -> dict[str, dict[str, int]]:
    """Count DeViBench's categories and their multi-frame questions (``task_type``, ``Frame``)."""
    path = Path(path)
    by_type = {v: k for k, v in CATEGORIES.items()}
    counts = {name: {"count": 0, "multi": 0} for name in CATEGORIES}
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            for line, row in enumerate(reader, start=2):
                task = (row.get("task_type") or "").strip()
                if task not in by_type:
                    raise InputError(f"unknown task type {task!r}", path, line, "task_type")
                counts[by_type[task]]["count"] += 1
                if (row.get("Frame") or "").strip().lower() == "multi":
                    counts[by_type[task]]["multi"] += 1
    except OSError as err:
        raise InputError(f"cannot read: {err}", path) from err
    return counts


def fit_params(
    table: MeasuredTable, mix: dict[str, dict[str, int]], name: str, source: str
) -> dict[str, Any]:
    """The parameter document of an accuracy model fitted to ``table``."""
    curves = [fit_curve(table.kbps, row) for row in table.values]
    return {
        "name": name,
        "source": source,
        "curve": "c(k) = floor + (ceiling - floor) / (1 + (mid_kbps / k) ** steepness)",
        "fit_kbps": [float(k) for k in table.kbps],
        "measured_mean": [round(float(v), 6) for v in table.values.mean(axis=0)],
        "measured_share_ge_0.8": [round(float(v), 6) for v in (table.values >= 0.8).mean(axis=0)],
        "category_mix": mix,
        "curves": [dict(id=i, **c) for i, c in zip(table.ids, curves, strict=True)],
    }


def save_params(doc: dict[str, Any], path: str | Path) -> None:
    """Write a parameter document as JSON (one curve per line, diff-friendly)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    head = {k: v for k, v in doc.items() if k != "curves"}
    text = json.dumps(head, indent=1)[:-2] + ',\n "curves": [\n'
    text += ",\n".join("  " + json.dumps(c) for c in doc["curves"]) + "\n ]\n}\n"
    path.write_text(text, encoding="utf-8")


def fitted_values(doc: dict[str, Any], kbps: Sequence[float]) -> np.ndarray:
    """The fitted curves of a parameter document at ``kbps`` (questions x bitrates)."""
    k = np.asarray(kbps, dtype=np.float64)[None, :]
    c = doc["curves"]
    floor = np.array([r["floor"] for r in c])[:, None]
    ceiling = np.array([r["ceiling"] for r in c])[:, None]
    mid = np.array([r["mid_kbps"] for r in c])[:, None]
    steep = np.array([r["steepness"] for r in c])[:, None]
    return floor + (ceiling - floor) / (1.0 + (mid / k) ** steep)
