"""Throughput lists (the 5G mmWave uplink study's format): parsing, errors, CLI stats/convert."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from artic_rl.cli import main
from artic_rl.errors import InputError
from artic_rl.net import load_trace, load_trace_dir
from artic_rl.net.fit import trim_idle_edges
from artic_rl.net.formats import detect_format, load_traces, parse_list_runs
from artic_rl.net.trace import per_window_counts

# 12.032 Mbps is one 1504-byte opportunity per millisecond; 6.016 Mbps one every 2 ms.
TWO_RUNS = (
    "\n###############################\nRun 1\n12.032,0,6.016\n"
    "###############################\nRun 3\n6.016,6.016,0\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_lists_are_detected() -> None:
    assert detect_format("x", TWO_RUNS) == "list"
    assert detect_format("x", "Run 1\n1,2\n") == "list"
    assert detect_format("x", "0.0 1.0\n") == "cooked"
    crlf = TWO_RUNS.replace("\n", "\r\n")
    assert detect_format("x", crlf) == "list"
    assert [r.number for r in parse_list_runs(crlf, "x")] == [1, 3]


def test_one_trace_per_run_and_zeros_are_outages(tmp_path: Path) -> None:
    traces = load_traces(write(tmp_path, "walk.list", TWO_RUNS))
    assert [t.name for t in traces] == ["walk-run1", "walk-run3"]
    first, second = traces
    # 100 ms at 1 opportunity/ms, 100 ms of outage, 100 ms at one every 2 ms
    assert first.opportunities_ms.tolist() == [*range(1, 101), *range(202, 301, 2)]
    assert first.period_ms == 300
    assert first.meta == {"format": "list", "run": "1", "interval_ms": "100"}
    # a trailing outage is kept in the period
    assert second.opportunities_ms.tolist() == list(range(2, 201, 2))
    assert second.period_ms == 300


def test_the_interval_is_a_parameter(tmp_path: Path) -> None:
    path = write(tmp_path, "s.list", "Run 1\n12.032,6.016\n")
    trace = load_traces(path, interval_ms=10.0)[0]
    assert trace.opportunities_ms.tolist() == [*range(1, 11), 12, 14, 16, 18, 20]
    assert trace.period_ms == 20


def test_timestamped_series_are_put_on_the_grid_and_added(tmp_path: Path) -> None:
    text = "Run 1\n0.5,0.6,0.7\n12.032,12.032,0\n0.6,0.7\n6.016,6.016\n"
    (run,) = parse_list_runs(text, "d.list")
    np.testing.assert_allclose(run.mbps, [12.032, 18.048, 6.016])
    # a step that no series covers is an outage
    (run,) = parse_list_runs("Run 1\n0.0,0.3\n1.5,2.5\n", "d.list")
    np.testing.assert_allclose(run.mbps, [1.5, 0.0, 0.0, 2.5])


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("###\n1,2\n", 2, "before the first"),
        ("Run 1\n1,2\nRun 2\n3,abc\n", 4, "sample 2 is not a number"),
        ("Run 1\n1,-2\n", 2, "negative"),
        ("Run 1\n1,inf\n", 2, "not a finite"),
        ("Run 1\n1\nRun 1\n2\n", 3, "appears twice"),
        ("Run 1\nRun 2\n1\n", 1, "no samples"),
        ("Run one\n1\n", 1, "expected 'Run N'"),
        ("Run 1\n0,0.1\n1,2,3\n", 3, "3 samples for 2 timestamps"),
        ("Run 1\n0.2,0.1\n1,2\n", 2, "timestamps decrease"),
        ("Run 1\n0,0.1\n1,2\n5\n", 4, "3 data lines"),
        ("Run 1\n0,0,0\n", 1, "zero capacity"),
    ],
)
def test_bad_lists_name_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, "bad.list", text)
    with pytest.raises(InputError, match=message) as err:
        load_traces(path, "list")
    assert err.value.line == line
    assert err.value.path == str(path)


def test_a_list_of_runs_is_not_one_trace(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="2 runs"):
        load_trace(write(tmp_path, "two.list", TWO_RUNS))
    assert load_trace(write(tmp_path, "one.list", "Run 4\n12.032\n")).name == "one-run4"


def test_a_folder_of_lists_gives_every_run(tmp_path: Path) -> None:
    write(tmp_path, "b.list", TWO_RUNS)
    write(tmp_path, "a.up", "1\n")
    assert [t.name for t in load_trace_dir(tmp_path)] == ["a", "b-run1", "b-run3"]


def test_idle_edges_are_trimmed() -> None:
    mbps = np.array([0.0, 10.0, 80.0, 100.0, 90.0, 100.0, 0.0, 0.1])
    # median 45: edge samples under 22.5 are the flow not (yet, any more) sending
    assert trim_idle_edges(mbps).tolist() == [80.0, 100.0, 90.0, 100.0]


def test_stats_prints_one_line_per_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "s.list", "Run 2\n12.032,0,6.016,6.016\nRun 5\n1,1\n")
    assert main(["traces", "stats", str(path)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["run"] for row in rows] == [2, 5]
    row = rows[0]
    assert row["format"] == "list" and row["interval_ms"] == 100.0
    assert row["duration_s"] == 0.4
    assert row["mean_mbps"] == pytest.approx(6.016)
    # sorted 0, 6.016, 6.016, 12.032: p10 at 0.3 of the first gap, p90 at 0.7 of the last
    assert row["p10_mbps"] == pytest.approx(0.3 * 6.016)
    assert row["p90_mbps"] == pytest.approx(1.7 * 6.016)
    assert row["outage_share"] == 0.25 and row["outage_s"] == 0.1
    # (12, 0, 6) against (0, 6, 6): -sqrt(3)/2
    assert row["lag1_autocorr"] == pytest.approx(-(3**0.5) / 2, abs=1e-6)
    assert main(["traces", "stats", str(path), "--interval-ms", "1000"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["duration_s"] == 4.0


def test_convert_writes_one_mahimahi_trace_per_run(tmp_path: Path) -> None:
    src = write(tmp_path, "walk.list", TWO_RUNS)
    out = tmp_path / "out"
    assert main(["traces", "convert", str(src), str(out), "--to", "mahimahi"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["walk-run1.up", "walk-run3.up"]
    back = load_trace(out / "walk-run1.up")
    np.testing.assert_array_equal(back.opportunities_ms, load_traces(src)[0].opportunities_ms)


def test_convert_bad_input_exits_2_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write(tmp_path, "bad.list", "Run 1\n1,2\nRun 2\n1,x\n")
    out = tmp_path / "out"
    assert main(["traces", "convert", str(src), str(out), "--to", "mahimahi"]) == 2
    err = capsys.readouterr().err
    assert f"{src}:4" in err and err.count("\n") == 1
    assert not out.exists()
    good = write(tmp_path, "good.list", TWO_RUNS)
    blocker = write(tmp_path, "file", "")
    assert main(["traces", "convert", str(good), str(blocker), "--to", "mahimahi"]) == 2
    assert main(["traces", "stats", str(src), "--interval-ms", "0"]) == 2


def test_generated_cooked_traces_keep_every_window(tmp_path: Path) -> None:
    args = ["traces", "generate", "--preset", "5g", "--train", "2", "--test", "0"]
    args += ["--duration-s", "3"]
    assert main([*args, "--out", str(tmp_path / "up")]) == 0
    assert main([*args, "--to", "cooked", "--out", str(tmp_path / "c")]) == 0
    for up, cooked in zip(
        load_trace_dir(tmp_path / "up" / "train"),
        load_trace_dir(tmp_path / "c" / "train"),
        strict=True,
    ):
        assert up.name == cooked.name and up.period_ms == cooked.period_ms == 3000
        np.testing.assert_array_equal(per_window_counts(up, 100), per_window_counts(cooked, 100))
