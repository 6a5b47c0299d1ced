"""The one agent registry: the ``agent`` config group (``conf/agent/<name>.yaml``).

Each option is ``_target_`` (the agent class), its constructor's keyword arguments, and
``receiver``: the receive stack the system under test is deployed with (``webrtc`` for the
as-deployed WebRTC senders, ``artic`` for Artic's loss-resilient receiver). Every agent is built
the same way, by hydra's ``instantiate`` (:func:`build_agent`). Names are resolved through hydra's
config search path (:func:`agent_config`), never by opening repository files, so a run's agents
come from the same configuration tree as the rest of its config. A name may carry another
receiver: ``gcc@artic`` is GCC on Artic's receiver.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from artic_rl.agents.base import Agent
from artic_rl.sender.actions import ActionCodec

RECEIVER_KEY = "receiver"  # not a constructor argument: the environment's receive stack


@dataclass(frozen=True)
class AgentSpec:
    """An agent by name and its config (``_target_``, keyword arguments, ``receiver``),
    picklable for workers."""

    name: str
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def kwargs(self) -> dict[str, Any]:
        """The constructor's keyword arguments (the config without ``_target_`` and ``receiver``)."""
        return {k: v for k, v in self.config.items() if k not in ("_target_", RECEIVER_KEY)}

    @property
    def receiver(self) -> str | None:
        """The receive stack this agent is deployed with (None: the environment's setting)."""
        value = self.config.get(RECEIVER_KEY)
        return None if value is None else str(value)

    def build(self, interval_ms: float, codec: ActionCodec | None = None) -> Agent:
        return build_agent(self.config, interval_ms, codec)


def build_agent(
    config: Mapping[str, Any], interval_ms: float, codec: ActionCodec | None = None
) -> Agent:
    """Instantiate an agent config for a control interval of ``interval_ms``, acting through
    ``codec``: the environment's (``env.unwrapped.codec``: its bitrate tiers and rate ceiling,
    ``env.kwargs.max_rate_kbps``); None: the default codec (20 tiers up to 4 Mbps)."""
    from hydra.utils import instantiate

    args = {k: v for k, v in config.items() if k != RECEIVER_KEY}
    # partial first: hydra would turn a dataclass argument (the codec) into a config node
    factory = instantiate(args, _partial_=True, _convert_="all")
    agent: Agent = factory(codec=codec or ActionCodec(), interval_ms=interval_ms)
    return agent


def known_agents() -> list[str]:
    """The options of the ``agent`` group on the running hydra's search path."""
    from hydra.core.global_hydra import GlobalHydra

    loader = GlobalHydra.instance().config_loader()
    return sorted(loader.get_group_options("agent"))


def agent_config(name: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``conf/agent/<name>.yaml`` composed by the running hydra (``@hydra.main`` or
    ``initialize_config_dir``), with keyword ``overrides`` applied; ``<name>@<receiver>`` sets the
    receiver. ValueError names the known agents (or receivers) when there is no such option."""
    from hydra import compose
    from omegaconf import OmegaConf

    from artic_rl.receiver.config import check_receiver

    base, _, receiver = name.partition("@")
    known = known_agents()
    if base not in known:
        raise ValueError(f"unknown agent {base!r}; known: {', '.join(known)}")
    cfg = compose(overrides=[f"+agent={base}"])
    config = OmegaConf.to_container(cfg.agent, resolve=True)
    assert isinstance(config, dict)
    out = {**{str(k): v for k, v in config.items()}, **dict(overrides or {})}
    if receiver:
        out[RECEIVER_KEY] = receiver
    if out.get(RECEIVER_KEY) is not None:
        check_receiver(str(out[RECEIVER_KEY]))
    return out


def agent_spec(name: str, overrides: Mapping[str, Any] | None = None) -> AgentSpec:
    """:func:`agent_config` as a named spec."""
    return AgentSpec(name, agent_config(name, overrides))
