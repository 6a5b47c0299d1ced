"""Trace formats: parsing, detection, errors that name file and line, exact conversions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from artic_rl.errors import InputError
from artic_rl.net import Trace, load_trace, load_trace_dir, save_trace
from artic_rl.net.stats import trace_stats
from artic_rl.net.trace import per_window_counts


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_mahimahi_repeated_lines_and_period(tmp_path: Path) -> None:
    trace = load_trace(write(tmp_path, "a.up", "3\n3\n7\n"))
    assert trace.name == "a"
    assert trace.opportunities_ms.tolist() == [3, 3, 7]
    assert trace.period_ms == 7
    # 3 opportunities of 1504 bytes in 7 ms
    assert trace.mean_mbps == pytest.approx(3 * 1504 * 8 / 7 / 1000)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "empty"),
        ("1\n2\nx3\n", 3, "not an integer"),
        ("1\n5\n4\n", 3, "decrease"),
        ("1\n\n-2\n", 3, "negative"),
        ("1\n2 3\n", 2, "one integer"),
        ("1\n2.5\n", 2, "not an integer"),
    ],
)
def test_mahimahi_errors_name_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, "bad.up", text)
    with pytest.raises(InputError, match=message) as err:
        load_trace(path, "mahimahi" if text else None)
    assert err.value.path == str(path)
    assert err.value.line == line
    assert f"bad.up:{line}" in str(err.value)


def test_unknown_format_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown trace format"):
        load_trace(write(tmp_path, "x.txt", "1 2 3\n"))
    with pytest.raises(InputError, match="unknown trace format"):
        load_trace(write(tmp_path, "y.up", "1\n"), "pcap")


def test_cooked_rates_become_opportunities(tmp_path: Path) -> None:
    # 12.032 Mbps is one 1504-byte opportunity per millisecond; 6.016 Mbps one every 2 ms.
    trace = load_trace(write(tmp_path, "c.log", "0.0 12.032\n0.005\t6.016\n0.010 0\n"))
    assert trace.opportunities_ms.tolist() == [1, 2, 3, 4, 5, 7, 9]
    # the last row lasts the median step (5 ms): a trailing outage the period keeps
    assert trace.period_ms == 15


def test_cooked_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a number") as err:
        load_trace(write(tmp_path, "c1", "0 1\n1 abc\n"), "cooked")
    assert err.value.line == 2
    with pytest.raises(InputError, match="increase") as err:
        load_trace(write(tmp_path, "c2", "0 1\n2 1\n1 1\n"), "cooked")
    assert err.value.line == 3
    with pytest.raises(InputError, match="negative") as err:
        load_trace(write(tmp_path, "c3", "0 1\n1 -1\n"), "cooked")
    assert err.value.line == 2


def test_json_segments_with_loss_and_rtt(tmp_path: Path) -> None:
    doc = {
        "type": "video",
        "uplink": {
            "trace_pattern": [
                {"duration": 4, "capacity": 12032, "loss": 0.1, "rtt": 40},
                {"duration": 6, "capacity": 6016, "loss": 0, "rtt": 80},
            ]
        },
    }
    trace = load_trace(write(tmp_path, "o.json", json.dumps(doc)))
    assert trace.opportunities_ms.tolist() == [1, 2, 3, 4, 6, 8, 10]
    assert trace.period_ms == 10
    assert trace.segment_end_ms is not None and trace.segment_end_ms.tolist() == [4, 10]
    assert trace.segment_at(np.array([0, 3.9, 4, 13])).tolist() == [0, 0, 1, 0]


def test_json_errors_name_the_field(tmp_path: Path) -> None:
    doc = {"trace_pattern": [{"duration": 10, "capacity": 100}, {"duration": 10, "capacity": "x"}]}
    with pytest.raises(InputError, match=r"trace_pattern\[1\]\.capacity"):
        load_trace(write(tmp_path, "o.json", json.dumps(doc)))
    with pytest.raises(InputError, match="invalid JSON") as err:
        load_trace(write(tmp_path, "p.json", '{\n "trace_pattern": [\n'))
    assert err.value.line is not None
    doc = {"trace_pattern": [{"duration": 10, "capacity": 100, "loss": 5}]}
    with pytest.raises(InputError, match="fraction"):
        load_trace(write(tmp_path, "q.json", json.dumps(doc)))


def test_mahimahi_cooked_round_trip_is_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    opps = np.sort(rng.integers(1, 3000, size=2000))
    trace = Trace("r", opps, int(opps[-1]))
    save_trace(trace, tmp_path / "r.cooked", "cooked", window_ms=1)
    back = load_trace(tmp_path / "r.cooked")
    np.testing.assert_array_equal(back.opportunities_ms, trace.opportunities_ms)
    assert back.period_ms == trace.period_ms
    save_trace(back, tmp_path / "r.up")
    np.testing.assert_array_equal(load_trace(tmp_path / "r.up").opportunities_ms, opps)
    save_trace(trace, tmp_path / "r.json", "json", window_ms=1)
    np.testing.assert_array_equal(load_trace(tmp_path / "r.json").opportunities_ms, opps)


def test_save_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "t.up"
    target.write_text("5\n")
    with pytest.raises(InputError):
        save_trace(Trace("x", np.array([1]), 1), target, "nope")
    assert target.read_text() == "5\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.up"]


def test_load_trace_dir_sorted_and_skips_docs(tmp_path: Path) -> None:
    write(tmp_path, "b.up", "2\n")
    write(tmp_path, "a.up", "1\n")
    write(tmp_path, "README.md", "# traces\n")
    assert [t.name for t in load_trace_dir(tmp_path)] == ["a", "b"]


def test_per_second_windows_and_stats() -> None:
    # 2.5 s: second 0 has 10 opportunities, second 1 none (an outage), second 2 is partial
    opps = np.concatenate([np.arange(1, 11), [2500]])
    trace = Trace("s", opps, 2500)
    assert per_window_counts(trace).tolist() == [10, 0]
    stats = trace_stats(trace)
    assert stats["duration_s"] == 2.5
    assert stats["outage_s"] == 1
    assert stats["mean_mbps"] == pytest.approx(10 * 1504 * 8 / 1e6 / 2)
    assert stats["p90_mbps"] == pytest.approx(0.9 * 10 * 1504 * 8 / 1e6)


def test_a_trace_folder_never_uses_downlinks_as_uplinks(tmp_path: Path) -> None:
    for name in ("a.up", "a.down", "b.up", "b.down"):
        (tmp_path / name).write_text("1\n2\n3\n")
    assert [t.name for t in load_trace_dir(tmp_path)] == ["a", "b"]
    only_down = tmp_path / "down"
    only_down.mkdir()
    (only_down / "a.down").write_text("1\n2\n")
    with pytest.raises(InputError, match=r"down: holds only Mahimahi downlink traces"):
        load_trace_dir(only_down)
