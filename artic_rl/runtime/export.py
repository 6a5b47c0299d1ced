"""Export a trained PPO policy's deterministic actor to one self-contained ONNX file.

The graph takes the raw observation (``obs``: float32 ``[batch, 34]``, the layout of
:mod:`artic_rl.sender.observation`) and does everything a runtime needs:

1. VecNormalize's transform in float64 (as the agent does it): ``clip((obs - mean) / sqrt(var + eps), -clip, clip)``;
2. for a recurrent policy (sb3-contrib's RecurrentPPO), the actor's LSTM, one ``LSTM`` node per
   layer over a sequence of one step: its state comes in as ``state_h`` and ``state_c`` (float32
   ``[layers, batch, hidden]``, zeros at an episode's start) and goes out as ``state_h_out`` and
   ``state_c_out``, which the runtime feeds back at the next step;
3. the actor MLP (``Gemm`` + activation per layer, then the action head) -> ``logits``;
4. the argmax per sub-action -> ``action`` (int64 ``[batch, 3]``: bitrate, ROI level, fps indices).

The file's ``metadata_props["artic_rl"]`` holds a JSON document: observation feature names and
bounds, the action meaning (:class:`~artic_rl.sender.actions.ActionCodec`), the preset, the control
interval, the normalisation constants, the parity result and the library versions. The graph is
built node by node from the SB3 weights (no tracing), so it is small and exactly the math SB3 runs.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from artic_rl.agents.ppo import MODEL_FILE, ObsNorm, is_recurrent, load_model, read_run_config
from artic_rl.agents.residual import ResidualSpec, residual_nvec
from artic_rl.errors import InputError
from artic_rl.sender.actions import ActionCodec
from artic_rl.sender.observation import FEATURE_NAMES, OBS_DIM, OBS_HIGH, OBS_LOW

METADATA_KEY = "artic_rl"
#: The metadata fields a runtime reads.
METADATA_FIELDS: tuple[str, ...] = ("observation.names", "action.nvec", "interval_ms")
OPSET = 17
TIE_TOLERANCE = 1e-5  # logits this close are a tie at float32 precision
STATE_INPUTS = ("state_h", "state_c")  # a recurrent graph's LSTM state in; ``<name>_out`` out
PARITY_SEQUENCE_STEPS = 100  # a recurrent policy's parity runs sequences this long, state carried
_ONNX_GATES = (0, 3, 1, 2)  # PyTorch's LSTM gate blocks are i, f, g, o; ONNX's are i, o, f, c


class ExportError(RuntimeError):
    """The exported graph does not reproduce the policy, or the policy cannot be exported."""


def load_obs_norm(policy_dir: Path) -> ObsNorm:
    """The policy folder's normalisation (:meth:`ObsNorm.load`); identity when it has none."""
    try:
        return ObsNorm.load(policy_dir)
    except FileNotFoundError:
        return ObsNorm.identity(OBS_DIM)


def _layers(model: Any) -> list[tuple[np.ndarray, np.ndarray, str | None]]:
    """(weight, bias, activation after it) for each Linear of the actor, action head last."""
    import torch

    policy = model.policy
    if type(policy.features_extractor).__name__ != "FlattenExtractor":
        raise ExportError(
            f"unsupported features extractor {type(policy.features_extractor).__name__}"
        )
    acts = {torch.nn.Tanh: "Tanh", torch.nn.ReLU: "Relu", torch.nn.Sigmoid: "Sigmoid"}
    out: list[tuple[np.ndarray, np.ndarray, str | None]] = []
    for module in policy.mlp_extractor.policy_net:
        if isinstance(module, torch.nn.Linear):
            out.append((module.weight.detach().numpy(), module.bias.detach().numpy(), None))
        elif type(module) in acts and out and out[-1][2] is None:
            w, b, _ = out[-1]
            out[-1] = (w, b, acts[type(module)])
        else:
            raise ExportError(f"unsupported layer {module} in the actor")
    head = policy.action_net
    out.append((head.weight.detach().numpy(), head.bias.detach().numpy(), None))
    return out


def _lstm_gates(weight: np.ndarray) -> np.ndarray:
    """A PyTorch LSTM weight or bias (gate blocks i, f, g, o) in ONNX's order (i, o, f, c)."""
    blocks = np.split(weight, 4, axis=0)
    return np.concatenate([blocks[k] for k in _ONNX_GATES], axis=0)


def _lstm_nodes(lstm: Any, x: str) -> tuple[list[Any], list[Any], list[Any], list[Any], str]:
    """ONNX ``LSTM`` nodes for a PyTorch ``nn.LSTM`` (sequence first) over one step of ``x``
    (``[batch, in]``): (nodes, initialisers, state inputs, state outputs, its output
    ``[batch, hidden]``)."""
    from onnx import TensorProto, helper, numpy_helper

    if lstm.bidirectional or getattr(lstm, "proj_size", 0) or lstm.batch_first or not lstm.bias:
        raise ExportError(f"unsupported LSTM {lstm}: one direction, no projection, with biases")
    n, hidden = lstm.num_layers, lstm.hidden_size
    inits = [numpy_helper.from_array(np.array([0], np.int64), "axis0")]
    inits.append(numpy_helper.from_array(np.array([1], np.int64), "axis1"))
    nodes = [helper.make_node("Unsqueeze", [x, "axis0"], ["seq0"])]  # [1, batch, in]
    for k in range(n):
        w, r = (getattr(lstm, f"{m}_l{k}").detach().numpy() for m in ("weight_ih", "weight_hh"))
        b_ih, b_hh = (getattr(lstm, f"{m}_l{k}").detach().numpy() for m in ("bias_ih", "bias_hh"))
        bias = np.concatenate([_lstm_gates(b_ih), _lstm_gates(b_hh)])[None]
        inits += [
            numpy_helper.from_array(_lstm_gates(w)[None], f"lstm_w{k}"),
            numpy_helper.from_array(_lstm_gates(r)[None], f"lstm_r{k}"),
            numpy_helper.from_array(bias, f"lstm_b{k}"),
            numpy_helper.from_array(np.array([k], np.int64), f"layer{k}"),
            numpy_helper.from_array(np.array([k + 1], np.int64), f"layer{k}_end"),
        ]
        for s in STATE_INPUTS:  # this layer's state: [1, batch, hidden]
            nodes.append(
                helper.make_node("Slice", [s, f"layer{k}", f"layer{k}_end", "axis0"], [f"{s}{k}"])
            )
        nodes.append(
            helper.make_node(
                "LSTM",
                [
                    f"seq{k}",
                    f"lstm_w{k}",
                    f"lstm_r{k}",
                    f"lstm_b{k}",
                    "",
                    f"state_h{k}",
                    f"state_c{k}",
                ],
                [f"lstm_y{k}", f"state_h_out{k}", f"state_c_out{k}"],
                hidden_size=hidden,
            )
        )
        # Y: [1, directions=1, batch, hidden] -> the next layer's sequence [1, batch, hidden]
        nodes.append(helper.make_node("Squeeze", [f"lstm_y{k}", "axis1"], [f"seq{k + 1}"]))
    for s in STATE_INPUTS:
        parts = [f"{s}_out{k}" for k in range(n)]
        nodes.append(helper.make_node("Concat", parts, [f"{s}_out"], axis=0))
    nodes.append(helper.make_node("Squeeze", [f"seq{n}", "axis0"], ["lstm_out"]))
    shape = [n, "batch", hidden]
    ins = [helper.make_tensor_value_info(s, TensorProto.FLOAT, shape) for s in STATE_INPUTS]
    outs = [
        helper.make_tensor_value_info(f"{s}_out", TensorProto.FLOAT, shape) for s in STATE_INPUTS
    ]
    return nodes, inits, ins, outs, "lstm_out"


def build_graph(model: Any, norm: ObsNorm, nvec: tuple[int, ...], metadata: dict[str, Any]) -> Any:
    """The ONNX model (normalisation, a recurrent policy's LSTM, MLP, per-sub-action argmax) with
    ``metadata`` attached."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [
        numpy_helper.from_array(norm.mean.astype(np.float64), "obs_mean"),
        numpy_helper.from_array(np.sqrt(norm.var + norm.epsilon).astype(np.float64), "obs_std"),
        numpy_helper.from_array(np.array(-norm.clip_obs, np.float64), "clip_lo"),
        numpy_helper.from_array(np.array(norm.clip_obs, np.float64), "clip_hi"),
        numpy_helper.from_array(np.array(nvec, np.int64), "split_sizes"),
    ]
    nodes = [
        helper.make_node("Cast", ["obs"], ["obs64"], to=TensorProto.DOUBLE),
        helper.make_node("Sub", ["obs64", "obs_mean"], ["centred"]),
        helper.make_node("Div", ["centred", "obs_std"], ["scaled"]),
        helper.make_node("Clip", ["scaled", "clip_lo", "clip_hi"], ["clipped"]),
        helper.make_node("Cast", ["clipped"], ["x0"], to=TensorProto.FLOAT),
    ]
    x = "x0"
    state_in: list[Any] = []
    state_out: list[Any] = []
    if is_recurrent(model):
        lstm_nodes, lstm_inits, state_in, state_out, x = _lstm_nodes(model.policy.lstm_actor, x)
        nodes += lstm_nodes
        inits += lstm_inits
    for i, (w, b, act) in enumerate(_layers(model)):
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        y = f"h{i}" if act else f"g{i}"
        nodes.append(helper.make_node("Gemm", [x, f"w{i}", f"b{i}"], [y], transB=1))
        if act:
            nodes.append(helper.make_node(act, [y], [f"g{i}"]))
        x = f"g{i}"
    nodes.append(helper.make_node("Identity", [x], ["logits"]))
    parts = [f"part{k}" for k in range(len(nvec))]
    nodes.append(helper.make_node("Split", ["logits", "split_sizes"], parts, axis=1))
    for k, p in enumerate(parts):
        nodes.append(helper.make_node("ArgMax", [p], [f"arg{k}"], axis=1, keepdims=1))
    nodes.append(
        helper.make_node("Concat", [f"arg{k}" for k in range(len(nvec))], ["action"], axis=1)
    )
    graph = helper.make_graph(
        nodes,
        "artic_rl_actor",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", OBS_DIM]), *state_in],
        [
            helper.make_tensor_value_info("action", TensorProto.INT64, ["batch", len(nvec)]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", int(sum(nvec))]),
            *state_out,
        ],
        inits,
    )
    onnx_model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="artic_rl"
    )
    onnx_model.ir_version = 8
    helper.set_model_props(onnx_model, {METADATA_KEY: json.dumps(metadata, sort_keys=True)})
    onnx.checker.check_model(onnx_model)
    return onnx_model


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for pkg in ("artic-rl", "stable-baselines3", "torch", "onnx", "onnxruntime", "numpy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def policy_metadata(
    policy_dir: Path,
    norm: ObsNorm,
    codec: ActionCodec,
    preset: str | None,
    residual: ResidualSpec | None = None,
    nvec: tuple[int, ...] | None = None,
    recurrent: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything a runtime needs besides the graph (JSON-serialisable). A residual policy's
    graph outputs the residual action (``action.nvec``); ``residual`` names the base agent the
    runtime composes it with (:mod:`artic_rl.agents.residual`). ``recurrent`` (None for a
    feed-forward policy, :func:`recurrent_metadata`) describes the LSTM state the runtime carries."""
    env_kwargs = read_run_config(policy_dir).get("env", {}).get("kwargs", {})
    return {
        "format": "artic_rl.actor/1",
        "preset": preset or env_kwargs.get("preset", "unknown"),
        "interval_ms": float(env_kwargs.get("interval_ms", 200.0)),
        "source": str(policy_dir),
        "observation": {
            "names": list(FEATURE_NAMES),
            "low": OBS_LOW.tolist(),
            "high": OBS_HIGH.tolist(),
            "builder": "artic_rl.sender.observation.ObservationBuilder",
        },
        "action": {
            "nvec": list(codec.nvec if nvec is None else nvec),
            "bitrates_kbps": list(codec.bitrates_kbps),
            "roi_levels": list(codec.roi_levels),
            "fps_choices": list(codec.fps_choices),
            "outputs": {"action": "argmax index per sub-action", "logits": "concatenated"},
        },
        "normalisation": {"clip_obs": norm.clip_obs, "epsilon": norm.epsilon, "in_graph": True},
        "residual": None if residual is None else asdict(residual),
        "recurrent": recurrent,
        "versions": _versions(),
    }


def recurrent_metadata(model: Any) -> dict[str, Any] | None:
    """A recurrent policy's state as the graph carries it (None for a feed-forward policy)."""
    if not is_recurrent(model):
        return None
    lstm = model.policy.lstm_actor
    return {
        "layers": int(lstm.num_layers),
        "hidden_size": int(lstm.hidden_size),
        "state_inputs": list(STATE_INPUTS),
        "state_outputs": [f"{s}_out" for s in STATE_INPUTS],
        "shape": "[layers, batch, hidden_size], float32",
        "reset": "zeros at each episode's start; each step's outputs are the next step's inputs",
    }


def zero_state(sess: Any, batch: int) -> dict[str, np.ndarray]:
    """The state inputs of a recurrent graph at an episode's start (zeros), for ``batch``
    observations; {} for a feed-forward graph."""
    out = {}
    for node in sess.get_inputs():
        if node.name in STATE_INPUTS:
            shape = [batch if isinstance(d, str) else int(d) for d in node.shape]
            out[node.name] = np.zeros(shape, dtype=np.float32)
    return out


def parity_observations(norm: ObsNorm, n: int, np_random: np.random.Generator) -> np.ndarray:
    """``n`` test observations: half uniform within the observation bounds, half drawn around the
    training distribution (mean +- 3 std), both clipped to the bounds."""
    n_uniform = n // 2
    uniform = np_random.uniform(OBS_LOW, OBS_HIGH, size=(n_uniform, OBS_DIM))
    std = np.sqrt(norm.var + norm.epsilon)
    around = norm.mean + np_random.uniform(-3.0, 3.0, size=(n - n_uniform, OBS_DIM)) * std
    return np.clip(np.concatenate([uniform, around]), OBS_LOW, OBS_HIGH).astype(np.float32)


def session(path_or_bytes: str | Path | bytes, threads: int = 1) -> Any:
    """An onnxruntime session on ``threads`` threads (CPU)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = threads
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    src = str(path_or_bytes) if isinstance(path_or_bytes, Path) else path_or_bytes
    return ort.InferenceSession(src, opts, providers=["CPUExecutionProvider"])


def _sequences(model: Any, sess: Any, obs: np.ndarray, normed: np.ndarray) -> tuple[Any, ...]:
    """A recurrent policy stepped through ``obs`` as sequences of :data:`PARITY_SEQUENCE_STEPS`
    (a batch of them side by side, each from the zero state), the state carried from step to
    step by SB3 ``predict`` and by the graph: (SB3's actions, its logits, the graph's actions,
    its logits, the largest difference of the carried states); rows in step-major order."""
    import torch

    steps = min(PARITY_SEQUENCE_STEPS, len(obs))
    batch = len(obs) // steps
    seq_obs = obs[: batch * steps].reshape(batch, steps, -1)
    seq_normed = normed[: batch * steps].reshape(batch, steps, -1)
    state: Any = None
    starts = np.zeros(batch, dtype=bool)
    feeds = zero_state(sess, batch)
    out: list[list[np.ndarray]] = [[], [], [], []]
    state_diff = 0.0
    for t in range(steps):
        with torch.no_grad():
            h, c = state if state is not None else (feeds["state_h"], feeds["state_c"])
            lstm_in = (torch.as_tensor(h), torch.as_tensor(c))
            x = torch.as_tensor(seq_normed[:, t])
            dist, _ = model.policy.get_distribution(x, lstm_in, torch.as_tensor(starts).float())
        out[1].append(torch.cat([d.logits for d in dist.distribution], dim=1).numpy())
        actions, state = model.predict(seq_normed[:, t], state, starts, deterministic=True)
        out[0].append(actions)
        action, logits, h_out, c_out = sess.run(
            ["action", "logits", "state_h_out", "state_c_out"], {"obs": seq_obs[:, t], **feeds}
        )
        feeds = {"state_h": h_out, "state_c": c_out}
        out[2].append(action)
        out[3].append(logits)
        diff = max(np.abs(h_out - state[0]).max(), np.abs(c_out - state[1]).max())
        state_diff = max(state_diff, float(diff))
    return (*(np.concatenate(o) for o in out), state_diff)


def check_parity(model: Any, norm: ObsNorm, onnx_bytes: bytes, obs: np.ndarray) -> dict[str, float]:
    """Compare ONNX against SB3 ``predict(deterministic=True)``; raises :class:`ExportError` on any
    differing action that is not a float32 tie (SB3's logits of both choices within
    :data:`TIE_TOLERANCE`) or a logit difference above 1e-4. Returns the counts (``identical``
    observations, ``ties``, ``mismatched`` sub-actions) and the largest logit difference. A
    recurrent policy is compared over sequences, its state carried by both (:func:`_sequences`;
    also ``max_state_diff``, held to the same 1e-4)."""
    import torch
    from scipy.special import log_softmax

    normed = norm.apply(obs)
    sess = session(onnx_bytes)
    extra: dict[str, float] = {}
    if is_recurrent(model):
        sb3_actions, sb3_logits, actions, logits, state_diff = _sequences(model, sess, obs, normed)
        extra["max_state_diff"] = state_diff
    else:
        sb3_actions, _ = model.predict(normed, deterministic=True)
        with torch.no_grad():
            dist = model.policy.get_distribution(torch.as_tensor(normed))
            sb3_logits = torch.cat([d.logits for d in dist.distribution], dim=1).numpy()
        actions, logits = sess.run(["action", "logits"], {"obs": obs})
    # SB3's Categorical holds normalised logits (log-softmax): compare after the same shift
    splits = np.cumsum(model.action_space.nvec)[:-1]
    shift = np.concatenate(
        [log_softmax(p, axis=1) for p in np.split(logits, splits, axis=1)], axis=1
    )
    max_diff = float(np.abs(shift - sb3_logits).max())
    differs = np.asarray(actions) != np.asarray(sb3_actions)
    # a differing argmax is a float32 tie when SB3's own logits of the two choices are within
    # TIE_TOLERANCE (matrix products sum in a different order in torch and onnxruntime)
    offsets = np.concatenate([[0], np.cumsum(model.action_space.nvec)[:-1]])
    rows, cols = np.nonzero(differs)
    gaps = np.abs(
        sb3_logits[rows, offsets[cols] + np.asarray(sb3_actions)[rows, cols]]
        - sb3_logits[rows, offsets[cols] + np.asarray(actions)[rows, cols]]
    )
    ties = int((gaps <= TIE_TOLERANCE).sum())
    mismatched = int((gaps > TIE_TOLERANCE).sum())
    result = {
        "observations": int(differs.shape[0]),
        "identical": int((~differs.any(axis=1)).sum()),
        "ties": ties,
        "mismatched": mismatched,
        "max_logit_diff": max_diff,
        **extra,
    }
    if mismatched or max(max_diff, extra.get("max_state_diff", 0.0)) > 1e-4:
        raise ExportError(f"ONNX does not reproduce the SB3 policy: {result}")
    return result


def benchmark(onnx_bytes: bytes, obs: np.ndarray, runs: int = 5000) -> dict[str, float]:
    """onnxruntime latency per decision (batch of one, one thread): p50 / p99 / mean in microseconds."""
    sess = session(onnx_bytes, threads=1)
    rows = [obs[i % len(obs) : i % len(obs) + 1] for i in range(runs)]
    state = zero_state(sess, 1)  # a recurrent graph's state inputs (its cost is the same)
    for r in rows[:200]:  # warm-up
        sess.run(["action"], {"obs": r, **state})
    times = np.empty(runs)
    for i, r in enumerate(rows):
        t0 = time.perf_counter_ns()
        sess.run(["action"], {"obs": r, **state})
        times[i] = (time.perf_counter_ns() - t0) / 1000.0
    return {
        "p50_us": float(np.percentile(times, 50)),
        "p99_us": float(np.percentile(times, 99)),
        "mean_us": float(times.mean()),
        "runs": runs,
    }


@dataclass(frozen=True)
class ExportResult:
    path: Path
    size_bytes: int
    parity: dict[str, float]
    latency: dict[str, float]
    metadata: dict[str, Any]


def export_policy(
    policy: str | Path,
    out: str | Path,
    preset: str | None = None,
    parity_n: int = 10_000,
    bench_runs: int = 5000,
    seed: int = 0,
) -> ExportResult:
    """Export ``policy`` (a run directory or ``policies/<preset>``: ``model.zip`` + normalisation)
    to ``out``; checks parity on ``parity_n`` observations and benchmarks it. Raises
    :class:`ExportError` when parity fails (nothing is written then)."""
    policy_dir = Path(policy)
    if not (policy_dir / MODEL_FILE).is_file():
        raise FileNotFoundError(f"{policy_dir / MODEL_FILE}: no trained PPO policy there")
    model = load_model(policy_dir / MODEL_FILE)
    norm = load_obs_norm(policy_dir)
    codec = ActionCodec()
    residual = ResidualSpec.load(policy_dir)
    want = codec.nvec if residual is None else residual_nvec(residual, codec)
    nvec = tuple(int(v) for v in getattr(model.action_space, "nvec", ()))
    if nvec != want or model.observation_space.shape != (OBS_DIM,):
        raise ExportError(
            f"policy spaces {nvec}/{model.observation_space.shape} do not match the codec"
            f" ({want}/({OBS_DIM},))"
        )
    meta = policy_metadata(
        policy_dir, norm, codec, preset, residual, nvec, recurrent_metadata(model)
    )
    onnx_model = build_graph(model, norm, nvec, meta)
    data = onnx_model.SerializeToString()
    obs = parity_observations(norm, parity_n, np.random.default_rng(seed))
    parity = check_parity(model, norm, data, obs)
    latency = benchmark(data, obs, bench_runs) if bench_runs else {}
    meta = {**meta, "parity": parity}
    from onnx import helper

    del onnx_model.metadata_props[:]
    helper.set_model_props(onnx_model, {METADATA_KEY: json.dumps(meta, sort_keys=True)})
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    data = onnx_model.SerializeToString()
    if not (out_path.is_file() and out_path.read_bytes() == data):  # unchanged: leave it be
        tmp = out_path.with_name(out_path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(out_path)
    return ExportResult(out_path, out_path.stat().st_size, parity, latency, meta)


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``artic_rl`` metadata JSON of an exported file; InputError names the file and what is
    wrong when it is not an ONNX file, not one of ours, or its metadata lacks a field."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except Exception as err:  # onnx raises DecodeError, ValueError, ... on a file it cannot parse
        raise InputError(f"not an ONNX file ({type(err).__name__})", path) from None
    for prop in model.metadata_props:
        if prop.key == METADATA_KEY:
            try:
                result: dict[str, Any] = json.loads(prop.value)
            except json.JSONDecodeError as err:
                raise InputError(f"metadata is not JSON: {err}", path, field=METADATA_KEY) from None
            for key in METADATA_FIELDS:
                node: Any = result
                for part in key.split("."):
                    if not isinstance(node, dict) or part not in node:
                        raise InputError("policy metadata lacks a field", path, field=key)
                    node = node[part]
            return result
    raise InputError(f"no {METADATA_KEY!r} metadata: not a policy exported by export.py", path)
