"""The synthetic question set, the OCR profile fit, the project-encoder degrader, the plot."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from artic_rl.cli import main
from artic_rl.errors import InputError
from artic_rl.mllm.accuracy import load_accuracy_model
from artic_rl.mllm.devibench import load_samples
from artic_rl.mllm.judges import ExactMatchGrader
from artic_rl.mllm.synthbench import fit_ocr_params, read_results

MIX = {"text": {"count": 9, "multi": 0}, "action": {"count": 1, "multi": 1}}


def test_grader_ignoring_spaces() -> None:
    g = ExactMatchGrader(ignore_spaces=True)
    assert g.grade("q", "PHARMACY894", "PHARMACY 894")
    assert g.grade("q", "4 29.43EUR", "29.43 EUR")
    assert not g.grade("q", "PHARMACY B94", "PHARMACY 894")
    assert not ExactMatchGrader().grade("q", "PHARMACY894", "PHARMACY 894")


def test_fit_ocr_params_keeps_questions_right_on_the_original() -> None:
    step = {0.0: True, 100.0: False, 200.0: False, 400.0: True, 800.0: True, 1600.0: True}
    results = {
        "a": step,
        "b": {**step, 200.0: True},
        "never": {0.0: False, 100.0: False, 200.0: True, 400.0: True, 800.0: True, 1600.0: True},
    }
    doc = fit_ocr_params(results, MIX, "test")
    assert doc["questions_total"] == 3 and doc["questions_right_on_original"] == 2
    assert doc["fit_kbps"] == [100.0, 200.0, 400.0, 800.0, 1600.0]
    assert doc["measured_mean"] == [0.0, 0.5, 1.0, 1.0, 1.0]
    mids = {c["id"]: c["mid_kbps"] for c in doc["curves"]}
    assert 200.0 < mids["a"] < 400.0 and 100.0 < mids["b"] < 200.0  # the step between the tiers
    with pytest.raises(InputError, match="original"):
        fit_ocr_params({"x": {0.0: False, 100.0: True}}, MIX, "t")


def test_read_results(tmp_path: Path) -> None:
    p = tmp_path / "results.csv"
    with p.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sample", "kbps", "roi_level", "correct"])
        w.writerows(
            [["s", "0.0", "0", "True"], ["s", "200.0", "0", "False"], ["s", "200.0", "2", "True"]]
        )
    assert read_results(p) == {"s": {0.0: True, 200.0: False}}
    assert read_results(p, roi_level=2) == {"s": {200.0: True}}
    p.write_text("sample,kbps\ns,x\n")
    with pytest.raises(InputError, match="results.csv:2"):
        read_results(p)


def test_shipped_ocr_model_saturates() -> None:
    model = load_accuracy_model("ocr")
    table = model.table(np.array([100.0, 400.0, 3150.0]))
    assert table["mean"][0] < table["mean"][1] <= table["mean"][2] + 1e-9
    assert table["mean"][2] > 0.8
    q = model.sample_question(np.random.default_rng(0))
    assert 0.0 <= model.p_correct(q, 500.0) <= 1.0


def test_cli_plot(tmp_path: Path) -> None:
    out = tmp_path / "m.png"
    assert main(["accuracy", "plot", "--models", "artic", "--out", str(out)]) == 0
    assert out.stat().st_size > 5000


def test_synth_bench_and_project_encoder(tmp_path: Path) -> None:
    pytest.importorskip("artic_rl.video.clips")
    from artic_rl.mllm.media import ProjectDegrader, read_segment

    assert main(["accuracy", "synth-bench", "--out", str(tmp_path), "--clips", "1",
                 "--seconds", "0.5"]) == 0  # fmt: skip
    samples = load_samples(tmp_path / "questions.csv")
    assert len(samples) >= 1 and all(s.roi is not None and s.category == "text" for s in samples)
    frames, fps = read_segment(tmp_path / samples[0].video, 0.0, 5.0)  # type: ignore[operator]
    assert fps == 30.0 and len(frames) == 15
    out = list(ProjectDegrader().degrade(frames, fps, 50.0, 2, samples[0].roi))
    assert len(out) == 15 and out[0].shape == frames[0].shape
