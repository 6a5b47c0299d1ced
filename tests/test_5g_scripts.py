"""scripts/cut_outages.py and scripts/ceiling_5g.py: the 5G page's outage traces and ceiling tables."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import yaml

from artic_rl.evaluation.rollout import EpisodeResult
from artic_rl.net import Trace, load_trace_dir, save_trace

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / f"scripts/{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cut = _script("cut_outages")
ceiling = _script("ceiling_5g")


def _steady(name: str = "walk", period_ms: int = 60_000) -> Trace:
    return Trace(name, np.arange(0, period_ms, 2, dtype=np.int64), period_ms)


def _outages(trace: Trace, out: Trace) -> list[tuple[int, int]]:
    """(start, end) of each run of removed opportunities."""
    kept = np.isin(trace.opportunities_ms, out.opportunities_ms)
    spans, start = [], None
    for t, k in zip(trace.opportunities_ms.tolist(), kept.tolist(), strict=True):
        if not k and start is None:
            start = t
        if k and start is not None:
            spans.append((start, t))
            start = None
    return spans


def test_each_outage_removes_every_opportunity_for_its_drawn_length() -> None:
    trace = _steady()
    out = cut.cut_outages(trace, np.random.default_rng(17))
    assert np.isin(out.opportunities_ms, trace.opportunities_ms).all()
    spans = _outages(trace, out)
    assert len(spans) >= 2
    for start, end in spans:
        assert 500 - 2 <= end - start <= 1200 + 2
    assert out.period_ms == trace.period_ms


def test_the_same_seed_cuts_the_same_outages_and_another_seed_others() -> None:
    trace = _steady()
    a = cut.cut_outages(trace, np.random.default_rng(17)).opportunities_ms
    b = cut.cut_outages(trace, np.random.default_rng(17)).opportunities_ms
    c = cut.cut_outages(trace, np.random.default_rng(18)).opportunities_ms
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_the_command_writes_one_mahimahi_trace_per_input(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    for name in ("run1", "run2"):
        save_trace(_steady(name), src / f"{name}.up")
    cut.main([str(src), str(dst)])
    written = load_trace_dir(dst)
    assert [t.name for t in written] == ["run1", "run2"]
    rng = np.random.default_rng(17)
    for trace in written:
        expected = cut.cut_outages(_steady(trace.name), rng)
        assert np.array_equal(trace.opportunities_ms, expected.opportunities_ms)


@pytest.mark.parametrize(
    "args, message",
    [
        (["{empty}", "{dst}"], "no trace files"),
        (["{src}", "{src}"], "the same folder"),
        (["{src}", "{dst}", "--min-s", "2", "--max-s", "1"], "0 < min <= max"),
        (["{tmp}/missing", "{dst}"], "not a folder"),
    ],
)
def test_cut_outages_refuses_bad_input_with_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    src, empty = tmp_path / "src", tmp_path / "empty"
    src.mkdir()
    empty.mkdir()
    save_trace(_steady(), src / "walk.up")
    paths = {"src": src, "dst": tmp_path / "dst", "empty": empty, "tmp": tmp_path}
    cmd = [sys.executable, str(ROOT / "scripts/cut_outages.py"), *(a.format(**paths) for a in args)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    assert run.returncode == 2
    assert message in run.stderr.splitlines()[-1]
    assert not (tmp_path / "dst").exists()


def _episode(seed: int, rate: float, acc: float, latency: float) -> EpisodeResult:
    return EpisodeResult(
        seed=seed,
        trace="walk",
        start_ms=0.0,
        accuracy=[acc, acc],
        latency_ms=[latency, latency + 10.0],
        frame_latency_ms=[latency / 2],
        bitrate_kbps=[rate] * 4 + [rate * 6] + [rate] * 3,
    )


def _run(sweep: Path, scale: float, ceiling_kbps: int, gcc_rate: float) -> None:
    run = sweep / f"scale{scale}-ceil{ceiling_kbps}"
    run.mkdir(parents=True)
    cfg = {"env": {"kwargs": {"preset": "5g", "split": "test", "capacity_scale": scale}}}
    cfg["env"]["kwargs"]["max_rate_kbps"] = ceiling_kbps
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    eps = {
        "gcc": [asdict(_episode(s, gcc_rate + s, 0.9, 100.0 + s)) for s in range(3)],
        "artic": [asdict(_episode(s, 900.0, 1.0, 80.0)) for s in range(3)],
    }
    (run / "episodes.json").write_text(json.dumps(eps))
    vs = {m: {"diff": 1.0, "ci_low": 0.5, "ci_high": 1.5} for m in ceiling.METRICS}
    (run / "summary.json").write_text(json.dumps({"artic": {"vs_gcc": vs}}))


def test_ceiling_rows_read_gccs_rates_at_both_ceilings_and_the_paired_difference(
    tmp_path: Path,
) -> None:
    sweep = tmp_path / "sweep"
    _run(sweep, 1.0, 4000, 1000.0)
    _run(sweep, 1.0, 32000, 3000.0)
    first, blank, second = ceiling.tables(*ceiling.load([sweep]))
    # mean bitrate over the episodes' steps (1,000-1,002 x 13/8), peak 5-step mean (x 2)
    assert first.startswith("| 5g test | 1 | 1627 → 4877 | 2004 → 6004 | 90.0 → 90.0 | 100.0 |")
    assert first.count("+1.0 [+0.5, +1.5]") == 6
    assert blank == ""
    # the same latencies at both ceilings, paired by episode: no difference, no spread
    assert second == "| 5g test | 1 | +0.0 [+0.0, +0.0] | +0.0 [+0.0, +0.0] | +0.0 [+0.0, +0.0] |"


def test_ceiling_refuses_a_scale_without_both_ceilings(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    _run(sweep, 0.1, 4000, 1000.0)
    cmd = [sys.executable, str(ROOT / "scripts/ceiling_5g.py"), str(sweep)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    assert run.returncode == 2
    assert "capacity scale 0.1: no run at max_rate_kbps=32000" in run.stderr.splitlines()[-1]


def test_ceiling_names_the_run_whose_config_lacks_a_key(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    _run(sweep, 1.0, 4000, 1000.0)
    run = next(sweep.iterdir())
    (run / "config.yaml").write_text(yaml.safe_dump({"env": {"kwargs": {}}}))
    cmd = [sys.executable, str(ROOT / "scripts/ceiling_5g.py"), str(sweep)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    assert out.returncode == 2
    assert f"{run}: missing key 'capacity_scale'" in out.stderr.splitlines()[-1]
