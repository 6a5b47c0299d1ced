"""Trace folders: several pooled (``traces_dir=[...]``), names kept distinct, and training-only
extra folders (``extra_traces_dir``) drawn with ``extra_share``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from artic_rl.envs.video_chat import VideoChatEnv
from artic_rl.errors import InputError
from artic_rl.net import load_trace_dir, load_trace_dirs

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
    assert names == [t.name for t in load_trace_dirs(folders)]  # the same on every load
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
