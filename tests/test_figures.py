"""scripts/figures.py: the Pareto front drawn on the accuracy-latency plane."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("figures", ROOT / "scripts/figures.py")
assert spec is not None and spec.loader is not None
figures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(figures)


def test_the_front_keeps_only_points_nothing_beats_on_both_axes() -> None:
    # (latency ms, accuracy %): (150, 70) is beaten by (100, 80); (300, 85) by (200, 90)
    points = [(100.0, 80.0), (200.0, 90.0), (150.0, 70.0), (300.0, 85.0), (50.0, 60.0)]
    assert figures.pareto_front(points) == [(50.0, 60.0), (100.0, 80.0), (200.0, 90.0)]


def test_a_tie_in_latency_keeps_the_more_accurate_point() -> None:
    assert figures.pareto_front([(100.0, 70.0), (100.0, 75.0)]) == [(100.0, 75.0)]
