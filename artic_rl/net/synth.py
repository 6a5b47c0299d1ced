"""Synthetic uplink traces: a Markov-modulated rate process with outages.

The model runs on a one-second clock. State 0 is an outage (no delivery opportunity for the
whole second); states ``1..K`` are capacity levels, state ``i`` drawing its rate uniformly from
``[edges_mbps[i-1], edges_mbps[i]]``. States follow a first-order Markov chain (``transition``,
rows sum to 1) started from ``start`` (the stationary mix the model was fitted on). Inside a
second the opportunities (whole ones; the fractional rest carries over) sit on uniformly random
milliseconds. Parameters live in ``artic_rl/data/net/<preset>.json``: ``lte`` and ``3g`` fitted
on the Mahimahi cellular uplinks by :mod:`artic_rl.net.fit`, ``5g`` and ``wifi`` built from
summary numbers of the literature (see each file's ``source``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from artic_rl.errors import InputError
from artic_rl.net.trace import MS_PER_S, OPPORTUNITY_MBIT, Trace

PRESETS = ("lte", "3g", "5g", "wifi")
#: Random stream of each split in a generated set (``default_rng([seed, stream])``): train for
#: learning, test for the reported figures, val for model selection (teachers, checkpoints).
SPLIT_STREAMS = {"train": 0, "test": 1, "val": 2}


@dataclass(frozen=True, eq=False)
class RateModel:
    """One regime of the Markov-modulated rate model (see the module docstring).

    Attributes:
        name: A label (the source trace of a fitted regime).
        level_mbps: (K, Q + 1) non-decreasing quantile points of each capacity level; a level's
            rate is the piecewise-linear quantile function at a uniform draw.
        transition: (K + 1, K + 1) per-second transition matrix; state 0 is the outage.
        start: (K + 1,) distribution of the first second's state.
    """

    name: str
    level_mbps: np.ndarray
    transition: np.ndarray
    start: np.ndarray

    def __post_init__(self) -> None:
        n_states = self.level_mbps.shape[0] + 1
        if self.transition.shape != (n_states, n_states) or self.start.shape != (n_states,):
            raise ValueError(f"rate model {self.name!r}: inconsistent sizes")
        if not np.allclose(self.transition.sum(axis=1), 1.0) or not np.isclose(self.start.sum(), 1):
            raise ValueError(f"rate model {self.name!r}: probabilities must sum to 1")
        if np.any(np.diff(self.level_mbps, axis=1) < 0) or np.any(self.level_mbps < 0):
            raise ValueError(f"rate model {self.name!r}: level quantiles must be >= 0, increasing")

    @classmethod
    def from_dict(cls, doc: dict, name: str = "model") -> RateModel:
        try:
            transition = np.array(doc["transition"], dtype=np.float64)
            start = np.array(doc["start"], dtype=np.float64)
            # the file rounds to 6 decimals: renormalise
            transition /= transition.sum(axis=1, keepdims=True)
            levels = np.array(doc["level_mbps"], dtype=np.float64)
            return cls(str(doc.get("name", name)), levels, transition, start / start.sum())
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"bad rate model: {err}", name) from None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "level_mbps": [[round(float(x), 6) for x in row] for row in self.level_mbps],
            "transition": [[round(float(x), 6) for x in row] for row in self.transition],
            "start": [round(float(x), 6) for x in self.start],
        }

    def states(self, n_seconds: int, np_random: np.random.Generator) -> np.ndarray:
        """A state path of ``n_seconds`` (int64; 0 = outage)."""
        n_states = self.start.size
        cum = np.cumsum(self.transition, axis=1)
        cum[:, -1] = 1.0
        draws = np_random.random(n_seconds)
        path = np.empty(n_seconds, dtype=np.int64)
        state = min(int(np.searchsorted(np.cumsum(self.start), np_random.random())), n_states - 1)
        for second in range(n_seconds):
            path[second] = state
            state = min(int(np.searchsorted(cum[state], draws[second], side="right")), n_states - 1)
        return path

    def rates_mbps(self, n_seconds: int, np_random: np.random.Generator) -> np.ndarray:
        """Capacity of each second (Mbps), 0 during an outage."""
        path = self.states(n_seconds, np_random)
        rows = self.level_mbps[np.maximum(path, 1) - 1]
        pos = np_random.random(n_seconds) * (rows.shape[1] - 1)
        col = np.minimum(pos.astype(np.int64), rows.shape[1] - 2)
        frac = pos - col
        low = np.take_along_axis(rows, col[:, None], axis=1)[:, 0]
        high = np.take_along_axis(rows, col[:, None] + 1, axis=1)[:, 0]
        rates = low + (high - low) * frac
        rates[path == 0] = 0.0
        return rates


@dataclass(frozen=True, eq=False)
class Preset:
    """A mixture of rate models: each generated trace follows one regime, drawn by weight.

    A fitted preset has one regime per source trace (weighted by its duration), so that a
    generated trace keeps one network's level and the generated set keeps the sources' mix.
    """

    name: str
    regimes: tuple[RateModel, ...]
    weights: np.ndarray

    def pick(self, np_random: np.random.Generator) -> RateModel:
        cum = np.cumsum(self.weights)
        index = int(np.searchsorted(cum, np_random.random() * cum[-1], side="right"))
        return self.regimes[min(index, len(self.regimes) - 1)]

    def allocate(self, n_traces: int) -> list[RateModel]:
        """``n_traces`` regimes in proportion to the weights (largest remainder), in order."""
        share = self.weights / self.weights.sum() * n_traces
        counts = np.floor(share).astype(int)
        order = np.argsort(-(share - counts), kind="stable")
        counts[order[: n_traces - counts.sum()]] += 1
        return [r for r, c in zip(self.regimes, counts.tolist(), strict=True) for _ in range(c)]


def load_preset(preset_or_path: str | Path) -> Preset:
    """A shipped preset (``lte``, ``3g``, ``5g``, ``wifi``) or a fitted model JSON file."""
    name = str(preset_or_path)
    if name in PRESETS:
        text = resources.files("artic_rl").joinpath("data", "net", f"{name}.json").read_text()
        source: str | Path = f"artic_rl/data/net/{name}.json"
    else:
        path = Path(name)
        if not path.is_file():
            raise InputError(
                f"unknown preset (expected one of {', '.join(PRESETS)} or a model file)", name
            )
        text, source = path.read_text(), path
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"invalid JSON: {err.msg}", source, err.lineno) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("regimes"), list) or not doc["regimes"]:
        raise InputError("a preset needs a non-empty 'regimes' list", source)
    regimes = tuple(
        RateModel.from_dict(r, f"{source}:{r.get('name', i)}") for i, r in enumerate(doc["regimes"])
    )
    weights = np.array([float(r.get("weight", 1.0)) for r in doc["regimes"]])
    return Preset(str(doc.get("preset", name)), regimes, weights)


def opportunities_per_second(rates_mbps: np.ndarray) -> np.ndarray:
    """Whole opportunities in each second for these rates (the fraction carries over)."""
    whole = np.floor(np.cumsum(rates_mbps / OPPORTUNITY_MBIT) + 1e-9).astype(np.int64)
    return np.diff(np.concatenate(([0], whole)))


def per_second_capacity(
    preset: str | Path | Preset, n_traces: int, duration_s: int, np_random: np.random.Generator
) -> list[np.ndarray]:
    """Per-second capacity (Mbps) of ``n_traces`` generated traces, without placing opportunities.

    Exactly what :func:`~artic_rl.net.stats.per_second_mbps` measures on a generated trace;
    cheap enough for the large samples that statistics need.
    """
    mixture = preset if isinstance(preset, Preset) else load_preset(preset)
    return [
        opportunities_per_second(model.rates_mbps(duration_s, np_random)) * OPPORTUNITY_MBIT
        for model in mixture.allocate(n_traces)
    ]


def trace_from_rates(rates_mbps: np.ndarray, np_random: np.random.Generator, name: str) -> Trace:
    """Opportunities for per-second rates: whole ones per second, on random milliseconds."""
    n_seconds = rates_mbps.size
    counts = opportunities_per_second(rates_mbps)
    seconds = np.repeat(np.arange(n_seconds, dtype=np.int64), counts)
    opps = np.sort(seconds * MS_PER_S + np_random.integers(1, MS_PER_S + 1, size=seconds.size))
    period_ms = n_seconds * MS_PER_S
    if opps.size == 0:
        opps = np.array([period_ms], dtype=np.int64)
    elif counts[-1] > 0:
        opps[-1] = period_ms  # the period is the last timestamp, as in a Mahimahi file
    return Trace(name, opps, period_ms, meta={"format": "generated"})


def generate_trace(
    preset: str | Path | Preset | RateModel,
    duration_s: float,
    np_random: np.random.Generator,
    name: str | None = None,
) -> Trace:
    """A synthetic trace of ``duration_s`` (rounded up to whole seconds).

    Args:
        preset: ``lte``, ``3g``, ``5g``, ``wifi``, a preset JSON path, a :class:`Preset` (one
            regime drawn by weight) or a :class:`RateModel`.
        duration_s: Length of one period.
        np_random: The only source of randomness.
        name: The trace's name (default: the preset's).
    """
    if isinstance(preset, RateModel):
        model, label = preset, preset.name
    else:
        mixture = preset if isinstance(preset, Preset) else load_preset(preset)
        model, label = mixture.pick(np_random), mixture.name
    return _generate(model, duration_s, np_random, name or label)


def generate_set(
    preset: str | Path | Preset, n_traces: int, duration_s: float, np_random: np.random.Generator
) -> list[Trace]:
    """``n_traces`` traces whose regimes follow the preset's weights (largest remainder), in a
    random order; named ``<preset>-<i>``."""
    mixture = preset if isinstance(preset, Preset) else load_preset(preset)
    regimes = mixture.allocate(n_traces)
    order = np_random.permutation(n_traces)
    return [
        _generate(regimes[j], duration_s, np_random, f"{mixture.name}-{i:02d}")
        for i, j in enumerate(order.tolist())
    ]


def _generate(
    model: RateModel, duration_s: float, np_random: np.random.Generator, name: str
) -> Trace:
    n_seconds = max(1, int(np.ceil(duration_s - 1e-9)))
    trace = trace_from_rates(model.rates_mbps(n_seconds, np_random), np_random, name)
    trace.meta["regime"] = model.name
    return trace
