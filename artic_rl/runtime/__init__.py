"""artic_rl.runtime."""
