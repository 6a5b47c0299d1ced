"""The accuracy-model contract: curves, staleness, sampling, and the authors' table."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from artic_rl.cli import main
from artic_rl.errors import InputError
from artic_rl.mllm import AccuracyModel, Question, load_accuracy_model
from artic_rl.mllm.accuracy import curve_value
from artic_rl.mllm.fit import (
    category_mix,
    fit_curve,
    fitted_values,
    load_confidence_csv,
)

TIERS_KBPS = np.array([200.0, 400.0, 610.0, 910.0, 1710.0, 3150.0])
PAPER_MEAN = np.array([0.47, 0.81, 0.89, 0.95, 0.97, 0.98])
PAPER_SHARE_PCT = np.array([27.5, 71.3, 83.2, 90.4, 94.6, 100.0])


def make_q(multi: bool = False) -> Question:
    return Question("text", multi, 0.02, floor=0.1, ceiling=0.9, mid_kbps=400.0, steepness=2.0)


def test_curve_golden_values() -> None:
    q = make_q()
    assert curve_value(q, 400.0) == pytest.approx(0.5)  # half-way at mid
    assert curve_value(q, 800.0) == pytest.approx(0.1 + 0.8 / 1.25)  # (400/800)^2 = 0.25
    assert curve_value(q, 200.0) == pytest.approx(0.1 + 0.8 / 5.0)  # (400/200)^2 = 4
    assert curve_value(q, 0.0) == 0.1
    model = load_accuracy_model("artic")
    conf = model.confidence_at(q, np.array([0.0, 200.0, 400.0, 800.0]))
    np.testing.assert_allclose(conf, [0.1, 0.26, 0.5, 0.74])


def test_a_question_with_aged_curves_reads_the_pictures_age() -> None:
    young = (500.0, 0.0, 1.0, 800.0, 2.0)  # measured 0.5 s after the keyframe: mid 800 kbps
    old = (4500.0, 0.0, 1.0, 400.0, 2.0)  # 4.5 s after it: mid 400 kbps
    q = dataclasses.replace(make_q(), aged=(young, old))
    assert curve_value(q, 400.0) == pytest.approx(0.5)  # no age: the question's own curve
    assert curve_value(q, 400.0, 500.0) == pytest.approx(1.0 / 5.0)  # the young curve
    assert curve_value(q, 400.0, 100.0) == pytest.approx(1.0 / 5.0)  # held below the youngest
    assert curve_value(q, 400.0, 4500.0) == pytest.approx(0.5)  # the old curve
    assert curve_value(q, 400.0, 60_000.0) == pytest.approx(0.5)  # held beyond the oldest
    # half-way in log age (1.5 s, the geometric mean): the mean of the two curves' values
    assert curve_value(q, 400.0, 1500.0) == pytest.approx((0.2 + 0.5) / 2.0)
    model = load_accuracy_model("artic")
    assert model.p_correct(q, 400.0, 0.0, 30.0, 1500.0) == pytest.approx(0.35)
    assert model.p_correct(make_q(), 400.0, 0.0, 30.0, 1500.0) == pytest.approx(0.1 + 0.8 / 2.0)


def test_staleness_and_frame_rate_golden() -> None:
    model = load_accuracy_model("artic")  # grace 500 ms, tau 3000 / 1000 ms, need 2 fps
    single, multi = make_q(False), make_q(True)
    assert model.p_correct(single, 400.0) == pytest.approx(0.5)
    assert model.p_correct(single, 400.0, staleness_ms=500.0) == pytest.approx(0.5)
    assert model.p_correct(single, 400.0, staleness_ms=3500.0) == pytest.approx(0.5 / math.e)
    assert model.p_correct(multi, 400.0, staleness_ms=1500.0) == pytest.approx(0.5 / math.e)
    # frame rate matters only to questions about motion
    assert model.p_correct(single, 400.0, fps=0.5) == pytest.approx(0.5)
    assert model.p_correct(multi, 400.0, fps=1.0) == pytest.approx(0.25)
    assert model.p_correct(multi, 400.0, fps=5.0) == pytest.approx(0.5)
    assert model.p_correct(multi, 400.0, staleness_ms=1500.0, fps=1.0) == pytest.approx(
        0.25 / math.e
    )


def test_committed_params_reproduce_the_paper_table() -> None:
    model = load_accuracy_model("artic")
    assert isinstance(model, AccuracyModel)
    assert len(model.curves) == 167
    table = model.table(TIERS_KBPS)
    np.testing.assert_allclose(table["mean"], PAPER_MEAN, atol=0.03)
    np.testing.assert_allclose(np.array(table["share_at_threshold"]) * 100, PAPER_SHARE_PCT, atol=5)
    # the same through the population of questions and p_correct (uniform encoding, fresh)
    pop = model.population()
    means = [np.mean([model.p_correct(q, k) for q in pop]) for k in TIERS_KBPS]
    np.testing.assert_allclose(means, table["mean"], rtol=1e-9)


def test_curves_saturate() -> None:
    model = load_accuracy_model("artic")
    values = np.array([model.confidence_at(q, TIERS_KBPS) for q in model.population()])
    assert np.all(np.diff(values, axis=1) >= -1e-12)  # monotone in bitrate
    gain = values[:, -1] - values[:, 2]  # 610 -> 3150 kbps buys little
    assert np.median(gain) < 0.02


def test_sample_question_mix_and_determinism() -> None:
    model = load_accuracy_model("artic")
    a = [model.sample_question(np.random.default_rng(7)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    rng = np.random.default_rng(0)
    qs = [model.sample_question(rng) for _ in range(20000)]
    cats = np.array([q.category for q in qs])
    assert np.mean(cats == "text") == pytest.approx(1611 / 1968, abs=0.01)
    assert np.mean(cats == "attribute") == pytest.approx(227 / 1968, abs=0.01)
    assert np.mean([q.multi_frame for q in qs]) == pytest.approx(163 / 1968, abs=0.01)
    areas = np.array([q.roi_area for q in qs])
    assert areas.min() >= 0.005 and areas.max() <= 0.30
    assert np.median(areas[cats == "text"]) == pytest.approx(0.02, rel=0.1)
    assert np.median(areas[cats != "text"]) == pytest.approx(0.08, rel=0.1)
    assert {q.curve_id for q in qs} == set(range(167))


def test_jitter_moves_only_the_midpoint() -> None:
    plain = load_accuracy_model("artic")
    jit = load_accuracy_model("artic", jitter_log=0.3)
    qa = plain.sample_question(np.random.default_rng(3))
    qb = jit.sample_question(np.random.default_rng(3))
    assert qa.curve_id == qb.curve_id and qa.ceiling == qb.ceiling
    assert qa.mid_kbps != qb.mid_kbps


def test_p_correct_costs_microseconds() -> None:
    model = load_accuracy_model("artic")
    q = model.sample_question(np.random.default_rng(1))
    n = 20000
    t0 = time.perf_counter()
    for i in range(n):
        model.p_correct(q, 300.0 + i % 7, 600.0, 1.0)
    per_call_us = (time.perf_counter() - t0) / n * 1e6
    assert per_call_us < 20.0  # about 1 us uncontended; generous for shared cores


def test_unknown_and_malformed_models(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown accuracy model"):
        load_accuracy_model("nope")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"curves": [{"floor": 0.0}]}))
    with pytest.raises(InputError, match="bad.json"):
        load_accuracy_model(str(bad))


def test_fit_recovers_a_known_curve() -> None:
    q = Question("text", False, 0.02, floor=0.05, ceiling=0.95, mid_kbps=350.0, steepness=3.0)
    kbps = np.array([100.0, 200.0, 400.0, 610.0, 910.0, 1710.0, 3150.0])
    fit = fit_curve(kbps, np.array([curve_value(q, k) for k in kbps]))
    assert fit["mid_kbps"] == pytest.approx(350.0, rel=0.02)
    assert fit["steepness"] == pytest.approx(3.0, rel=0.05)
    assert fit["ceiling"] == pytest.approx(0.95, abs=0.01)


def test_cli_curve_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["accuracy", "curve", "--model", "artic", "--kbps", "200,3150"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kbps"] == [200.0, 3150.0]
    assert out["mean_accuracy"][0] == pytest.approx(0.47, abs=0.03)
    assert out["share_at_threshold"][1] == pytest.approx(1.0, abs=0.05)
    assert main(["accuracy", "curve", "--kbps", "0,x"]) == 2


@pytest.mark.shared
def test_csv_table_and_committed_fit(shared_data: Path) -> None:
    table = load_confidence_csv(shared_data / "artic" / "confidence.csv")
    assert table.values.shape == (167, 6)
    np.testing.assert_allclose(table.kbps, TIERS_KBPS)
    np.testing.assert_allclose(table.values.mean(axis=0), PAPER_MEAN, atol=0.01)
    np.testing.assert_allclose((table.values >= 0.8).mean(axis=0) * 100, PAPER_SHARE_PCT, atol=0.1)
    doc = json.loads((Path(__file__).parents[2] / "artic_rl/data/accuracy/artic.json").read_text())
    assert [c["id"] for c in doc["curves"]] == list(table.ids)
    fitted = fitted_values(doc, table.kbps)
    assert np.sqrt(np.mean((fitted - table.values) ** 2)) < 0.03
    np.testing.assert_allclose(fitted.mean(axis=0), table.values.mean(axis=0), atol=0.03)
    share = (fitted >= 0.8).mean(axis=0) - (table.values >= 0.8).mean(axis=0)
    assert np.all(np.abs(share) <= 0.05)
    # refitting a few rows gives the committed numbers
    for i in (0, 1, 3):
        assert fit_curve(table.kbps, table.values[i])["mid_kbps"] == pytest.approx(
            doc["curves"][i]["mid_kbps"], rel=1e-3
        )
    assert category_mix(shared_data / "devibench" / "datasets.csv") == doc["category_mix"]
