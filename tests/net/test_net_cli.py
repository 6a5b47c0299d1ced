"""The ``artic-rl traces`` and ``artic-rl link`` commands, through the dispatcher."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from artic_rl.cli import main
from artic_rl.net import load_trace, load_trace_dir


def test_stats_prints_one_json_object_per_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.up").write_text("".join(f"{m}\n" for m in range(1, 2001)))
    assert main(["traces", "stats", str(tmp_path / "a.up")]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["path"] == str(tmp_path / "a.up") and row["format"] == "mahimahi"
    assert row["duration_s"] == 2.0
    assert row["mean_mbps"] == pytest.approx(12.032)  # one opportunity per ms
    assert row["p10_mbps"] == row["p50_mbps"] == row["p90_mbps"] == pytest.approx(12.032)
    assert row["outage_s"] == 0


def test_bad_trace_exits_2_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "b.up").write_text("1\n2\nzz\n")
    assert main(["traces", "stats", str(tmp_path / "b.up")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'b.up'}:3" in err and err.count("\n") == 1


def test_convert_round_trip_and_no_half_written_output(tmp_path: Path) -> None:
    src = tmp_path / "s.up"
    src.write_text("1\n1\n4\n9\n")
    assert (
        main(
            [
                "traces",
                "convert",
                str(src),
                str(tmp_path / "s.txt"),
                "--to",
                "cooked",
                "--window-ms",
                "1",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "traces",
                "convert",
                str(tmp_path / "s.txt"),
                str(tmp_path / "t.up"),
                "--to",
                "mahimahi",
            ]
        )
        == 0
    )
    assert (tmp_path / "t.up").read_text() == "1\n1\n4\n9\n"
    (tmp_path / "bad.up").write_text("5\n3\n")
    assert (
        main(
            [
                "traces",
                "convert",
                str(tmp_path / "bad.up"),
                str(tmp_path / "out.json"),
                "--to",
                "json",
            ]
        )
        == 2
    )
    assert not (tmp_path / "out.json").exists()


def test_generate_is_deterministic(tmp_path: Path) -> None:
    args = [
        "traces",
        "generate",
        "--preset",
        "3g",
        "--seed",
        "3",
        "--train",
        "2",
        "--test",
        "1",
        "--duration-s",
        "10",
    ]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    for split, n in (("train", 2), ("test", 1)):
        a, b = load_trace_dir(tmp_path / "a" / split), load_trace_dir(tmp_path / "b" / split)
        assert len(a) == n
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x.opportunities_ms, y.opportunities_ms)
    # a validation split is a third stream: adding it leaves train and test as they were
    assert main([*args, "--val", "2", "--out", str(tmp_path / "c")]) == 0
    assert len(load_trace_dir(tmp_path / "c" / "val")) == 2
    for split in ("train", "test"):
        a, c = load_trace_dir(tmp_path / "a" / split), load_trace_dir(tmp_path / "c" / split)
        for x, y in zip(a, c, strict=True):
            np.testing.assert_array_equal(x.opportunities_ms, y.opportunities_ms)
    val = load_trace_dir(tmp_path / "c" / "val")[0].opportunities_ms
    test = load_trace_dir(tmp_path / "c" / "test")[0].opportunities_ms
    assert not np.array_equal(val, test)


def test_shipped_val_splits_are_the_generator_output(tmp_path: Path) -> None:
    """traces/3g/val is what traces/README.md's command writes (third random stream)."""
    repo = Path(__file__).resolve().parents[2] / "traces"
    for preset in ("3g",):
        out = tmp_path / preset
        args = ["traces", "generate", "--preset", preset, "--seed", "0", "--train", "0"]
        assert main([*args, "--test", "0", "--val", "4", "--out", str(out)]) == 0
        made = load_trace_dir(out / "val")
        shipped = load_trace_dir(repo / preset / "val")
        assert [t.name for t in made] == [t.name for t in shipped]
        for x, y in zip(made, shipped, strict=True):
            np.testing.assert_array_equal(x.opportunities_ms, y.opportunities_ms)


def test_shipped_lte_train_and_val_splits_are_the_generator_output(tmp_path: Path) -> None:
    """traces/lte/{train,val} are what traces/README.md's command writes, byte for byte."""
    repo = Path(__file__).resolve().parents[2] / "traces" / "lte"
    args = ["traces", "generate", "--preset", "lte", "--seed", "0", "--train", "200", "--test", "0"]
    args += ["--val", "32", "--duration-s", "60", "--to", "cooked", "--window-ms", "100"]
    assert main([*args, "--out", str(tmp_path)]) == 0
    for split in ("train", "val"):
        made = sorted((tmp_path / split).iterdir())
        assert [p.name for p in made] == sorted(p.name for p in (repo / split).iterdir())
        for path in made:
            assert path.read_bytes() == (repo / split / path.name).read_bytes(), path.name


def test_shipped_5g_val_split_is_the_generator_output(tmp_path: Path) -> None:
    """traces/5g/val is what traces/README.md's command writes, byte for byte (cooked, 100 ms)."""
    repo = Path(__file__).resolve().parents[2] / "traces" / "5g"
    args = ["traces", "generate", "--preset", "5g", "--seed", "0", "--train", "0", "--test", "0"]
    args += ["--val", "16", "--duration-s", "60", "--to", "cooked", "--window-ms", "100"]
    assert main([*args, "--out", str(tmp_path)]) == 0
    made = sorted((tmp_path / "val").iterdir())
    assert [p.name for p in made] == sorted(p.name for p in (repo / "val").iterdir())
    for path in made:
        assert path.read_bytes() == (repo / "val" / path.name).read_bytes(), path.name


def test_download_from_a_local_mirror(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "TMobile-LTE-short.up").write_text("1\n2\n3\n")
    (mirror / "Verizon-LTE-short.up").write_text("bad\n")
    out = tmp_path / "out"
    args = ["traces", "download", "mahimahi", "--out", str(out), "--files", "TMobile-LTE-short.up"]
    assert main([*args, "--url", mirror.as_uri()]) == 0
    assert load_trace(out / "TMobile-LTE-short.up").opportunities_ms.tolist() == [1, 2, 3]
    assert main([*args, "--url", str(mirror)]) == 0
    bad = [
        "traces",
        "download",
        "mahimahi",
        "--out",
        str(out),
        "--url",
        str(mirror),
        "--files",
        "Verizon-LTE-short.up",
    ]
    assert main(bad) == 2
    assert not (out / "Verizon-LTE-short.up").exists()
    assert main([*bad[:-1], "ATT-LTE-driving.up"]) == 2  # missing at the mirror


def test_link_replay_golden(tmp_path: Path) -> None:
    (tmp_path / "t.up").write_text("10\n20\n30\n")
    (tmp_path / "s.csv").write_text("send_ms,size_bytes\n0,1000\n0,1000\n0,1008\n0,1\n")
    out = tmp_path / "d.csv"
    args = [
        "link",
        "--trace",
        str(tmp_path / "t.up"),
        "--delay-ms",
        "5",
        "--input",
        str(tmp_path / "s.csv"),
    ]
    assert main([*args, "--output", str(out)]) == 0
    assert (
        out.read_text()
        == "send_ms,size_bytes,arrival_ms\n0,1000,15\n0,1000,25\n0,1008,25\n0,1,35\n"
    )
    assert main([*args, "--queue-packets", "1", "--output", str(out)]) == 0
    assert out.read_text() == "send_ms,size_bytes,arrival_ms\n0,1000,15\n0,1000,\n0,1008,\n0,1,\n"


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("0,100\n1,abc\n", 3, "not a number"),
        ("0,100\n1,100,7\n", 3, "2 comma-separated"),
        ("5,100\n4,100\n", 3, "non-decreasing"),
        ("0,100\n1,1505\n", 3, "size_bytes"),
        ("0,100.5\n", 2, "integer"),
    ],
)
def test_link_rejects_bad_sends(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, line: int, message: str
) -> None:
    (tmp_path / "t.up").write_text("1\n")
    (tmp_path / "s.csv").write_text("send_ms,size_bytes\n" + body)
    out = tmp_path / "d.csv"
    assert (
        main(
            [
                "link",
                "--trace",
                str(tmp_path / "t.up"),
                "--input",
                str(tmp_path / "s.csv"),
                "--output",
                str(out),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert f"s.csv:{line}" in err and message in err
    assert not out.exists()


def test_compare_real_against_generated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``traces compare``: the shipped lte test traces against the lte generator, as statistics
    and a figure; the generator's own traces compared with it agree closely."""
    root = Path(__file__).resolve().parents[2] / "traces" / "lte"
    out = tmp_path / "fig.png"
    argv = ["traces", "compare", str(root / "train"), "--preset", "lte", "--generated", "200"]
    assert main([*argv, "--out", str(out)]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    real, gen = lines
    assert (real["set"], gen["set"]) == ("real", "generated") and gen["traces"] == 200
    assert real["traces"] == 200  # traces/lte/train: 200 generated traces of the same preset
    for key in ("mean_mbps", "p50_mbps", "outage_share"):
        assert gen[key] == pytest.approx(real[key], rel=0.25, abs=0.03), key
    assert out.stat().st_size > 10_000
    assert main(["traces", "compare", str(tmp_path / "none.up"), "--preset", "lte"]) == 2
    assert "none.up" in capsys.readouterr().err
    for bad, message in (
        (["--preset", "nope"], "nope: unknown preset"),
        (["--preset", "lte", "--window-ms", "0"], "--window-ms must be positive"),
        (["--preset", "lte", "--generated", "-1"], "--generated must be positive"),
    ):
        assert main(["traces", "compare", str(root / "test"), *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err
