"""Synthetic uplink traces: a Markov-modulated rate process with outages.

The model runs on a clock of ``step_ms`` (one second unless a preset says otherwise). State 0
is an outage (no delivery opportunity for the whole step); states ``1..K`` are capacity levels,
state ``i`` drawing its rate from that level's quantile points. States follow a first-order
Markov chain (``transition``, rows sum to 1) started from ``start`` (the stationary mix the
model was fitted on). Inside a step the opportunities (whole ones; the fractional rest carries
over) sit on uniformly random milliseconds. Parameters live in
``artic_rl/data/net/<preset>.json``: ``lte`` and ``3g`` fitted on the Mahimahi cellular uplinks
and ``5g`` on the 5G mmWave uplink lists (100 ms steps) by :mod:`artic_rl.net.fit`, ``wifi``
built from summary numbers of the literature (see each file's ``source``).
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
        start: (K + 1,) distribution of the first step's state.
        step_ms: Length of one step of the chain (ms).
    """

    name: str
    level_mbps: np.ndarray
    transition: np.ndarray
    start: np.ndarray
    step_ms: int = MS_PER_S

    def __post_init__(self) -> None:
        n_states = self.level_mbps.shape[0] + 1
        if self.transition.shape != (n_states, n_states) or self.start.shape != (n_states,):
            raise ValueError(f"rate model {self.name!r}: inconsistent sizes")
        if not np.allclose(self.transition.sum(axis=1), 1.0) or not np.isclose(self.start.sum(), 1):
            raise ValueError(f"rate model {self.name!r}: probabilities must sum to 1")
        if np.any(np.diff(self.level_mbps, axis=1) < 0) or np.any(self.level_mbps < 0):
            raise ValueError(f"rate model {self.name!r}: level quantiles must be >= 0, increasing")
        if self.step_ms < 1:
            raise ValueError(f"rate model {self.name!r}: step_ms must be >= 1")

    @classmethod
    def from_dict(cls, doc: dict, name: str = "model") -> RateModel:
        try:
            transition = np.array(doc["transition"], dtype=np.float64)
            start = np.array(doc["start"], dtype=np.float64)
            # the file rounds to 6 decimals: renormalise
            transition /= transition.sum(axis=1, keepdims=True)
            levels = np.array(doc["level_mbps"], dtype=np.float64)
            step_ms = int(doc.get("step_ms", MS_PER_S))
            return cls(str(doc.get("name", name)), levels, transition, start / start.sum(), step_ms)
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"bad rate model: {err}", name) from None

    def to_dict(self) -> dict:
        doc: dict = {"name": self.name}
        if self.step_ms != MS_PER_S:
            doc["step_ms"] = self.step_ms
        return {
            **doc,
            "level_mbps": [[round(float(x), 6) for x in row] for row in self.level_mbps],
            "transition": [[round(float(x), 6) for x in row] for row in self.transition],
            "start": [round(float(x), 6) for x in self.start],
        }

    def states(self, n_seconds: int, np_random: np.random.Generator) -> np.ndarray:
        """A state path of ``n_seconds`` steps (int64; 0 = outage); the name is historical."""
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
        """Capacity of each of ``n_seconds`` steps (Mbps), 0 during an outage."""
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


def opportunities_per_second(rates_mbps: np.ndarray, step_ms: int = MS_PER_S) -> np.ndarray:
    """Whole opportunities in each step of ``step_ms`` at these rates (the fraction carries over)."""
    per_step = rates_mbps * (step_ms / MS_PER_S) / OPPORTUNITY_MBIT
    whole = np.floor(np.cumsum(per_step) + 1e-9).astype(np.int64)
    return np.diff(np.concatenate(([0], whole)))


def step_capacity(
    preset: str | Path | Preset,
    n_traces: int,
    duration_s: float,
    np_random: np.random.Generator,
    window_ms: int | None = None,
) -> list[np.ndarray]:
    """Capacity (Mbps) per window of ``n_traces`` generated traces, without placing opportunities.

    Exactly what :func:`~artic_rl.net.stats.per_second_mbps` with this ``window_ms`` measures
    on a generated trace (default: the model's step; a window must be a whole number of
    steps); cheap enough for the large samples that statistics need.
    """
    mixture = preset if isinstance(preset, Preset) else load_preset(preset)
    out = []
    for model in mixture.allocate(n_traces):
        window = window_ms or model.step_ms
        per_window, rest = divmod(window, model.step_ms)
        if rest:
            raise ValueError(f"window {window} ms is not a multiple of the {model.step_ms} ms step")
        n_steps = _n_steps(duration_s, model.step_ms)
        counts = opportunities_per_second(model.rates_mbps(n_steps, np_random), model.step_ms)
        n_windows = n_steps // per_window
        counts = counts[: n_windows * per_window].reshape(n_windows, per_window).sum(axis=1)
        out.append(counts * OPPORTUNITY_MBIT * (MS_PER_S / window))
    return out


def per_second_capacity(
    preset: str | Path | Preset, n_traces: int, duration_s: int, np_random: np.random.Generator
) -> list[np.ndarray]:
    """Per-second capacity (Mbps) of ``n_traces`` generated traces: :func:`step_capacity`."""
    return step_capacity(preset, n_traces, duration_s, np_random, MS_PER_S)


def trace_from_rates(
    rates_mbps: np.ndarray, np_random: np.random.Generator, name: str, step_ms: int = MS_PER_S
) -> Trace:
    """Opportunities for per-step rates: whole ones per step, on random milliseconds."""
    n_steps = rates_mbps.size
    counts = opportunities_per_second(rates_mbps, step_ms)
    steps = np.repeat(np.arange(n_steps, dtype=np.int64), counts)
    opps = np.sort(steps * step_ms + np_random.integers(1, step_ms + 1, size=steps.size))
    period_ms = n_steps * step_ms
    if opps.size == 0:
        opps = np.array([period_ms], dtype=np.int64)
    elif counts[-1] > 0:
        opps[-1] = period_ms  # the period is the last timestamp, as in a Mahimahi file
    return Trace(name, opps, period_ms, meta={"format": "generated"})


def _n_steps(duration_s: float, step_ms: int) -> int:
    return max(1, int(np.ceil(duration_s * MS_PER_S / step_ms - 1e-9)))


def generate_trace(
    preset: str | Path | Preset | RateModel,
    duration_s: float,
    np_random: np.random.Generator,
    name: str | None = None,
) -> Trace:
    """A synthetic trace of ``duration_s`` (rounded up to whole steps of the model).

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
    random order; named ``<preset>-<i>``, ``i`` zero-padded to two digits or more."""
    mixture = preset if isinstance(preset, Preset) else load_preset(preset)
    regimes = mixture.allocate(n_traces)
    order = np_random.permutation(n_traces)
    width = max(2, len(str(n_traces - 1)))
    return [
        _generate(regimes[j], duration_s, np_random, f"{mixture.name}-{i:0{width}d}")
        for i, j in enumerate(order.tolist())
    ]


def _generate(
    model: RateModel, duration_s: float, np_random: np.random.Generator, name: str
) -> Trace:
    n_steps = _n_steps(duration_s, model.step_ms)
    trace = trace_from_rates(model.rates_mbps(n_steps, np_random), np_random, name, model.step_ms)
    trace.meta["regime"] = model.name
    return trace
