"""artic_rl.net."""
