"""pareto_disagreements: the pairs a reward ranks against Pareto dominance, worked by hand."""

from __future__ import annotations

from artic_rl.evaluation.paired import pareto_disagreements
from artic_rl.evaluation.report import pareto_check


def _row(acc: float, lat: float, reward: float) -> dict[str, float]:
    return {"accuracy_pct": acc, "latency_mean_ms": lat, "reward": reward}


def test_a_dominating_agent_that_scores_lower_is_a_disagreement() -> None:
    summary = {
        "a": _row(90.0, 400.0, 10.0),  # dominates b and c
        "b": _row(85.0, 450.0, 11.0),  # ... but scores higher than a: disagreement
        "c": _row(90.0, 500.0, 9.0),  # dominated by a (same accuracy, slower), scores lower: fine
        "d": _row(95.0, 600.0, 12.0),  # more accurate but slower than a: no dominance either way
    }
    assert pareto_disagreements(summary) == [("a", "b")]
    assert "a dominates b but scores 10.00 <= 11.00" in pareto_check(summary)


def test_equal_agents_and_an_agreeing_reward() -> None:
    summary = {
        "a": _row(80.0, 300.0, 5.0),
        "b": _row(80.0, 300.0, 5.0),
        "c": _row(70.0, 300.0, 4.0),
    }
    assert pareto_disagreements(summary) == []
    assert pareto_check(summary).startswith("Reward ranking agrees")
