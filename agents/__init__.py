"""Agents: PPO and heuristic baselines behind one predict() interface (installed as artic_rl.agents)."""
