"""Gymnasium environments (installed as artic_rl.envs)."""
