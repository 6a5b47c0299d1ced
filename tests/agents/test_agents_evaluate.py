"""evaluate: pairing, bootstrap CIs with hand-made episodes, outputs of a tiny run through hydra."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from artic_rl.evaluation.paired import paired_bootstrap_ci, per_trace, pooled_metrics, summarise
from artic_rl.evaluation.report import headline, per_trace_table
from artic_rl.evaluation.rollout import EpisodeResult


def _ep(seed: int, acc: list[float], lat: list[float], rate: float = 500.0) -> EpisodeResult:
    return EpisodeResult(
        seed=seed,
        trace="t",
        start_ms=0.0,
        reward=sum(acc),
        steps=2,
        accuracy=acc,
        latency_ms=lat,
        frame_delay_ms=[50.0, 70.0],
        frame_latency_ms=[50.0, 70.0, 240.0],
        bitrate_kbps=[rate, rate],
        capacity_kbps=[1000.0, 1000.0],
        stale_frames=[0.0, 0.5],
    )


def test_pooled_metrics_by_hand() -> None:
    m = pooled_metrics([_ep(0, [1.0, 0.0], [100.0, 300.0]), _ep(1, [1.0], [200.0])])
    assert m["accuracy_pct"] == pytest.approx(200.0 / 3.0)
    assert m["latency_mean_ms"] == pytest.approx(200.0)
    assert m["latency_p50_ms"] == pytest.approx(200.0)
    assert m["frame_delay_ms"] == pytest.approx(60.0)
    assert m["frame_latency_ms"] == pytest.approx(120.0)
    assert m["utilisation"] == pytest.approx(0.5)
    assert m["stale_share"] == pytest.approx(0.25)


def test_per_trace_by_hand() -> None:
    a, b, c = _ep(0, [1.0, 0.0], [100.0, 300.0]), _ep(1, [1.0], [200.0]), _ep(2, [0.5], [400.0])
    c.trace = "u"
    table = per_trace({"x": [a, b, c]})
    assert table["x"]["t"]["episodes"] == 2
    assert table["x"]["t"]["accuracy_pct"] == pytest.approx(200.0 / 3.0)
    assert table["x"]["t"]["reward"] == pytest.approx(1.0)  # (1 + 1) / 2 episodes
    assert table["x"]["u"] == pytest.approx(
        {"episodes": 1, "accuracy_pct": 50.0, "latency_mean_ms": 400.0, "reward": 0.5}
    )
    text = per_trace_table(table)
    assert "t (n=2)" in text and "u (n=1)" in text and "0.500 (50.0%, 400 ms)" in text


def test_paired_bootstrap_of_a_constant_difference_is_a_point() -> None:
    import numpy as np

    ref = [_ep(s, [0.5, 0.5], [400.0, 400.0]) for s in range(5)]
    sys_ = [_ep(s, [1.0, 1.0], [300.0, 300.0]) for s in range(5)]
    d, lo, hi = paired_bootstrap_ci(sys_, ref, "accuracy_pct", 50, np.random.default_rng(0))
    assert (d, lo, hi) == pytest.approx((50.0, 50.0, 50.0))
    d, lo, hi = paired_bootstrap_ci(sys_, ref, "latency_mean_ms", 50, np.random.default_rng(0))
    assert (d, lo, hi) == pytest.approx((-100.0, -100.0, -100.0))
    with pytest.raises(ValueError):
        paired_bootstrap_ci(sys_[1:], ref[:-1], "accuracy_pct", 5, np.random.default_rng(0))


def test_summary_and_headline() -> None:
    results = {
        "gcc": [_ep(s, [0.5, 0.5], [400.0, 400.0]) for s in range(3)],
        "artic": [_ep(s, [1.0, 0.5], [300.0, 250.0]) for s in range(3)],
    }
    summary = summarise(results, "gcc", n_boot=20)
    assert "vs_gcc" not in summary["gcc"]
    assert summary["artic"]["vs_gcc"]["accuracy_pct"]["diff"] == pytest.approx(25.0)
    text = headline(summary, "artic", "gcc")
    assert "accuracy +25.00 pp" in text and "mean latency -125.00 ms" in text
    assert "frame latency (the paper's metric) +0.00 ms" in text


def test_an_agents_intervals_do_not_depend_on_the_other_agents() -> None:
    import numpy as np

    rng = np.random.default_rng(1)

    def eps(scale: float) -> list[EpisodeResult]:
        return [_ep(s, list(rng.random(3)), list(scale * rng.random(3))) for s in range(8)]

    base = {"gcc": eps(500.0), "artic": eps(300.0)}
    more = {"fixed": eps(900.0), **base}  # resampled before artic
    a = summarise(base, "gcc", n_boot=200)["artic"]["vs_gcc"]
    b = summarise(more, "gcc", n_boot=200)["artic"]["vs_gcc"]
    assert a == b
    assert a["latency_mean_ms"]["ci_low"] < a["latency_mean_ms"]["ci_high"]


def test_evaluate_py_writes_everything(tmp_path: Path, hydra_conf: Path) -> None:
    from hydra import compose

    from artic_rl.evaluation.evaluate import evaluate

    if True:  # inside hydra, as under @hydra.main
        cfg = compose(
            config_name="evaluate",
            overrides=[
                "env=lte",
                "agents=[gcc,recap,artic]",
                "eval.episodes=2",
                "eval.n_jobs=1",
                "eval.bootstrap=20",
                "eval.progress_bar=false",
                "env.kwargs.episode_s=4",
            ],
        )
        summary = evaluate(cfg, run_dir=tmp_path)
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert set(saved) == {"gcc", "recap", "artic"}
    for key in ("accuracy_pct", "latency_mean_ms", "latency_p95_ms", "bitrate_kbps", "reward"):
        assert key in saved["artic"]
    assert "vs_gcc" in saved["artic"]
    assert (saved["gcc"]["receiver"], saved["artic"]["receiver"]) == ("webrtc", "artic")
    assert summary["gcc"]["episodes"] == 2
    # the reward terms are reported and add up to the reward, agent by agent
    for row in saved.values():
        terms = [
            row[f"reward_{t}"] for t in ("question", "latency", "sample", "frame_delay", "bits")
        ]
        assert sum(terms) == pytest.approx(row["reward"], rel=1e-9, abs=1e-9)
    assert "Reward terms" in (tmp_path / "summary.md").read_text()
    # per trace: every episode counted once, under the trace it ran on
    traces = json.loads((tmp_path / "per_trace.json").read_text())
    assert set(traces) == {"gcc", "recap", "artic"}
    assert sum(r["episodes"] for r in traces["artic"].values()) == 2
    assert (tmp_path / "per_trace.md").read_text().count("| artic |") == 1
    for name in ("episodes.csv", "episodes.json", "summary.md", "headline.txt", "config.yaml"):
        assert (tmp_path / name).is_file()
    for name in ("latency_cdf.png", "accuracy_vs_bitrate.png", "timeline.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_vectorised_bootstrap_pools_like_pooled_metrics() -> None:
    import numpy as np

    from artic_rl.evaluation.paired import _boot_values

    rng = np.random.default_rng(0)

    def ep(seed: int) -> EpisodeResult:
        return EpisodeResult(
            seed=seed,
            trace="t",
            start_ms=0.0,
            reward=float(rng.normal()),
            accuracy=list(rng.random(int(rng.integers(0, 5)))),
            latency_ms=list(rng.random(4) * 1000),
            frame_delay_ms=list(rng.random(50) * 100),
            bitrate_kbps=list(rng.random(10) * 1000),
            capacity_kbps=list(rng.random(10) * 2000 + 1),
            stale_frames=list(rng.random(10)),
        )

    episodes = [ep(s) for s in range(8)]
    idx = np.random.default_rng(1).integers(0, 8, size=(20, 8))
    for metric in (
        "accuracy_pct",
        "latency_mean_ms",
        "frame_delay_ms",
        "bitrate_kbps",
        "reward",
        "utilisation",
    ):
        fast = _boot_values(episodes, metric, idx)
        slow = [pooled_metrics([episodes[i] for i in row])[metric] for row in idx]
        np.testing.assert_allclose(fast, slow, equal_nan=True)


def test_in_process_episodes_step_on_one_torch_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    from artic_rl.agents.registry import AgentSpec
    from artic_rl.evaluation import evaluate as ev

    seen: list[int] = []

    def episode(env: object, agent: object, seed: int) -> EpisodeResult:
        seen.append(torch.get_num_threads())
        return _ep(seed, [1.0], [100.0])

    monkeypatch.setattr(ev, "run_episode", episode)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        spec = AgentSpec("fixed", {"_target_": "artic_rl.agents.fixed.FixedAgent"})
        kwargs = {"preset": "lte", "traces_root": "traces", "split": "val", "episode_s": 2.0}
        out = ev.run_evaluation([spec], "artic/VideoChat-v0", kwargs, [0, 1], n_jobs=1)
        assert seen == [1, 1] and [r.seed for r in out["fixed"]] == [0, 1]
        assert torch.get_num_threads() == 2  # the caller's setting comes back
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("metric", ["latency_p50_ms", "latency_p95_ms", "latency_p99_ms"])
def test_bootstrap_percentiles_are_those_of_each_resamples_pooled_questions(metric: str) -> None:
    """The percentile path gives, bit for bit, what pooling each resample's episodes gives,
    an episode without questions included (a resample of only those is NaN)."""
    import numpy as np

    from artic_rl.evaluation.paired import _boot_values

    rng = np.random.default_rng(3)
    episodes = [
        _ep(s, [1.0] * n, list(rng.exponential(400.0, n))) for s, n in enumerate([3, 0, 7, 1, 12])
    ]
    idx = np.vstack([rng.integers(0, 5, size=(40, 5)), np.ones((1, 5), dtype=np.int64)])
    want = [pooled_metrics([episodes[i] for i in row])[metric] for row in idx]
    got = _boot_values(episodes, metric, idx)
    assert np.array_equal(got, np.asarray(want), equal_nan=True)
    assert np.isnan(got[-1])
