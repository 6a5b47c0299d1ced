"""Trace folders: several pooled (``traces_dir=[...]``), names kept distinct, and training-only
extra folders (``extra_traces_dir``) drawn with ``extra_share`` and scaled by ``extra_scale``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from artic_rl.envs.video_chat import VideoChatEnv
from artic_rl.errors import InputError
from artic_rl.net import Trace, load_trace_dir, load_trace_groups
from artic_rl.net.rescale import quantile_means_mbps
from artic_rl.net.trace import BITS_PER_OPPORTUNITY

ROOT = Path(__file__).resolve().parents[2]
TRACES = str(ROOT / "traces")
MMWAVE = ROOT.parent / "shared" / "data" / "traces" / "mmwave-uplink"


def _folder(path: Path, names: list[str]) -> Path:
    """A folder of Mahimahi uplinks, one per name, each with its own capacity."""
    path.mkdir(parents=True)
    for k, name in enumerate(names):
        (path / f"{name}.up").write_text("".join(f"{t}\n" for t in range(1, 200, k + 1)))
    return path


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """Two folders whose last parts differ only above them, sharing the name ``b``."""
    return _folder(tmp_path / "static" / "lte", ["a", "b"]), _folder(
        tmp_path / "walking" / "lte", ["b", "c"]
    )


def test_one_folder_as_a_string_or_a_list_is_the_same_set(folders: tuple[Path, Path]) -> None:
    one = VideoChatEnv(traces_dir=str(folders[0])).traces
    listed = VideoChatEnv(traces_dir=[str(folders[0])]).traces
    assert [t.name for t in one] == [t.name for t in listed] == ["a", "b"]
    for x, y in zip(one, listed, strict=True):
        assert np.array_equal(x.opportunities_ms, y.opportunities_ms)


def test_folders_pool_in_order_and_a_shared_name_gets_its_folder(
    folders: tuple[Path, Path],
) -> None:
    env = VideoChatEnv(traces_dir=[str(f) for f in folders])
    names = [t.name for t in env.traces]
    assert names == ["a", "static/lte/b", "walking/lte/b", "c"]  # unique names stay as they are
    reloaded = [t.name for _, traces in load_trace_groups(folders) for t in traces]
    assert names == reloaded  # the same on every load
    pooled = [t.opportunities_ms for t in env.traces]
    alone = [t.opportunities_ms for f in folders for t in load_trace_dir(f)]
    assert all(np.array_equal(x, y) for x, y in zip(pooled, alone, strict=True))
    seen = {env.reset(seed=s)[1]["trace"] for s in range(40)}
    assert seen == set(names)


def test_a_folder_named_twice_or_an_empty_list_is_an_error(folders: tuple[Path, Path]) -> None:
    with pytest.raises(InputError, match="named twice"):
        VideoChatEnv(traces_dir=[str(folders[0]), str(folders[0] / ".." / "lte")])
    with pytest.raises(ValueError, match="traces_dir: an empty list"):
        VideoChatEnv(traces_dir=[])


def test_extra_folders_follow_the_presets_training_traces(folders: tuple[Path, Path]) -> None:
    base = VideoChatEnv(traces_root=TRACES, preset="lte")
    env = VideoChatEnv(traces_root=TRACES, preset="lte", extra_traces_dir=[str(folders[1])])
    assert [t.name for t in env.traces] == [t.name for t in base.traces] + ["b", "c"]
    assert env.trace_probabilities is None  # no extra_share: every trace alike


def test_extra_share_is_the_probability_of_an_extra_trace(folders: tuple[Path, Path]) -> None:
    extra = [str(f) for f in folders]  # 4 extra traces beside lte's 200
    env = VideoChatEnv(traces_root=TRACES, preset="lte", extra_traces_dir=extra, extra_share=0.25)
    p = env.trace_probabilities
    assert p is not None and len(p) == len(env.traces) == 204
    assert p[:200] == pytest.approx([0.75 / 200] * 200) and p[200:] == pytest.approx([0.0625] * 4)
    assert p.sum() == pytest.approx(1.0)
    only = VideoChatEnv(traces_root=TRACES, preset="lte", extra_traces_dir=extra, extra_share=1.0)
    draws = [only.reset(seed=s)[1]["trace"] for s in range(20)]
    assert set(draws) == {"a", "static/lte/b", "walking/lte/b", "c"}
    again = VideoChatEnv(traces_root=TRACES, preset="lte", extra_traces_dir=extra, extra_share=1.0)
    assert [again.reset(seed=s)[1]["trace"] for s in range(20)] == draws  # seeded, reproducible
    never = VideoChatEnv(traces_root=TRACES, preset="lte", extra_traces_dir=extra, extra_share=0.0)
    assert all(never.reset(seed=s)[1]["trace"].startswith("lte-") for s in range(20))
    pinned = only.reset(seed=0, options={"trace_index": 3})[1]["trace"]
    assert pinned == only.traces[3].name  # a pinned trace overrides the share


def test_extra_traces_are_training_traces_only(folders: tuple[Path, Path]) -> None:
    extra = [str(folders[1])]
    for split in ("val", "test"):
        with pytest.raises(ValueError, match="extra_traces_dir: extra traces are training"):
            VideoChatEnv(traces_root=TRACES, preset="lte", split=split, extra_traces_dir=extra)
    with pytest.raises(ValueError, match="extra_share: give extra_traces_dir"):
        VideoChatEnv(traces_root=TRACES, preset="lte", extra_share=0.5)
    with pytest.raises(ValueError, match=r"extra_share must be in \[0, 1\]"):
        VideoChatEnv(traces_root=TRACES, preset="lte", extra_traces_dir=extra, extra_share=1.5)
    with pytest.raises(InputError, match="not a directory"):
        VideoChatEnv(traces_root=TRACES, preset="lte", extra_traces_dir=[str(folders[1] / "x")])


@pytest.mark.skipif(not MMWAVE.is_dir(), reason="needs ../shared/data/traces/mmwave-uplink")
def test_the_mmwave_lte_uplinks_join_the_lte_training_traces() -> None:
    extra = [str(MMWAVE / m / "lte") for m in ("static", "walking", "driving")]
    env = VideoChatEnv(traces_root=TRACES, preset="lte", extra_traces_dir=extra, extra_share=0.5)
    names = [t.name for t in env.traces]
    assert len(set(names)) == len(names) and len(names) > 200
    assert all(n.startswith("lte-") for n in names[:200])
    _, info = env.reset(seed=0, options={"trace_index": len(names) - 1})
    assert info["trace"] == names[-1]


@pytest.fixture
def fast(tmp_path: Path) -> Path:
    """A folder of three 10 s Mahimahi uplinks far above lte's regime: 12, 24 and 36 Mbps."""
    path = tmp_path / "fast"
    path.mkdir()
    for name, per_ms in (("x", 1), ("y", 2), ("z", 3)):
        (path / f"{name}.up").write_text("".join(f"{t}\n" * per_ms for t in range(1, 10_001)))
    return path


def _same(a: list[Trace], b: list[Trace]) -> bool:
    """The same traces: names and opportunities, in order."""
    return len(a) == len(b) and all(
        x.name == y.name and np.array_equal(x.opportunities_ms, y.opportunities_ms)
        for x, y in zip(a, b, strict=True)
    )


def test_extra_scale_multiplies_the_extras_once_and_leaves_the_presets_traces(fast: Path) -> None:
    kwargs = {"traces_root": TRACES, "preset": "lte", "capacity_scale": 0.5}
    alone = VideoChatEnv(**kwargs).traces
    env = VideoChatEnv(**kwargs, extra_traces_dir=str(fast), extra_scale=2.0)
    assert _same(env.traces[:200], alone)  # the preset's traces: capacity_scale only
    # 0.5 * 2 = 1, applied once: the extras exactly as recorded (halved then doubled would not be)
    assert _same(env.traces[200:], load_trace_dir(fast))
    tenth = VideoChatEnv(
        traces_root=TRACES, preset="lte", extra_traces_dir=str(fast), extra_scale=0.1
    )
    assert [t.mean_mbps for t in tenth.traces[200:]] == pytest.approx(
        [0.1 * t.mean_mbps for t in load_trace_dir(fast)], abs=1e-3
    )


@pytest.mark.parametrize("capacity_scale", [1.0, 3.0])
def test_extra_scale_match_gives_the_extras_the_presets_distribution_of_means(
    fast: Path, capacity_scale: float
) -> None:
    kwargs = {"traces_root": TRACES, "preset": "lte", "capacity_scale": capacity_scale}
    alone = VideoChatEnv(**kwargs).traces
    env = VideoChatEnv(**kwargs, extra_traces_dir=str(fast), extra_scale="match")
    assert _same(env.traces[:200], alone)
    base = np.array([t.mean_mbps for t in alone])
    # x < y < z get the hazen quantiles 1/6, 1/2, 5/6 of the preset's means (as scaled), in order
    want = np.quantile(base, [1 / 6, 1 / 2, 5 / 6], method="hazen")
    got = [t.mean_mbps for t in env.traces[200:]]
    one_opportunity_mbps = BITS_PER_OPPORTUNITY / (10_000 * 1e3)
    assert got == pytest.approx(want, abs=one_opportunity_mbps)
    assert got == sorted(got) and np.median(got) == pytest.approx(np.median(base), abs=1e-2)
    again = VideoChatEnv(**kwargs, extra_traces_dir=str(fast), extra_scale="match")
    assert _same(again.traces, env.traces)  # deterministic: no draw decides a scale


def test_a_bad_extra_scale_is_an_error(fast: Path) -> None:
    with pytest.raises(ValueError, match="extra_scale: give extra_traces_dir"):
        VideoChatEnv(traces_root=TRACES, preset="lte", extra_scale=0.1)
    for bad in (0.0, -2.0, float("nan"), "matched"):
        with pytest.raises(ValueError, match="extra_scale must be a number > 0 or 'match'"):
            VideoChatEnv(
                traces_root=TRACES, preset="lte", extra_traces_dir=str(fast), extra_scale=bad
            )


@pytest.mark.skipif(not MMWAVE.is_dir(), reason="needs ../shared/data/traces/mmwave-uplink")
def test_the_mmwave_lte_uplinks_matched_to_lte_span_its_means() -> None:
    extra = [str(MMWAVE / m / "lte") for m in ("static", "walking", "driving")]
    raw = VideoChatEnv(traces_root=TRACES, preset="lte", extra_traces_dir=extra)
    env = VideoChatEnv(
        traces_root=TRACES, preset="lte", extra_traces_dir=extra, extra_scale="match"
    )
    assert _same(env.traces[:200], raw.traces[:200])
    recorded = np.array([t.mean_mbps for t in raw.traces[200:]])
    assert len(recorded) == 73 and recorded.min() > 25.0  # 30-64 Mbps as recorded
    base = [t.mean_mbps for t in env.traces[:200]]
    got = np.array([t.mean_mbps for t in env.traces[200:]])
    want = quantile_means_mbps(recorded, base)
    assert got == pytest.approx(want, rel=1e-3)  # the shortest run, 12 s at 0.3 Mbps: < 0.3%
    assert np.argsort(got, kind="stable").tolist() == np.argsort(recorded, kind="stable").tolist()
    assert got.min() < 1.0 and got.max() > 8.0  # from lte's thin uplinks to its fast ones
