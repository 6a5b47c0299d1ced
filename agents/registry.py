"""Agents registered by name. Names map to ``module:Class`` and are imported on demand, so that
importing the registry has no side effects and loading one agent does not import the others."""

from __future__ import annotations

import importlib
from typing import Any

from artic_rl.agents.base import Agent

AGENTS: dict[str, str] = {
    "ppo": "artic_rl.agents.ppo:PPOAgent",
    "fixed": "artic_rl.agents.fixed:FixedAgent",
    "gcc": "artic_rl.agents.gcc:GccAgent",
    "rate": "artic_rl.agents.rate:RateAgent",
    "mpc": "artic_rl.agents.mpc:MpcAgent",
    "recap": "artic_rl.agents.recap:RecapAgent",
    "artic": "artic_rl.agents.artic:ArticAgent",
    "oracle": "artic_rl.agents.oracle:OracleAgent",
    "random": "artic_rl.agents.random_policy:RandomAgent",
}


def agent_class(name: str) -> type[Agent]:
    """The class registered under ``name``; ``KeyError`` lists the known names."""
    try:
        target = AGENTS[name]
    except KeyError:
        raise KeyError(f"unknown agent {name!r}; known: {', '.join(sorted(AGENTS))}") from None
    module, _, cls = target.partition(":")
    found: type[Agent] = getattr(importlib.import_module(module), cls)
    return found


def make_agent(name: str, **kwargs: Any) -> Agent:
    """Instantiate the agent registered under ``name`` with constructor keyword arguments."""
    return agent_class(name)(**kwargs)
