"""artic_rl.video."""
