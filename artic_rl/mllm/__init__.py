"""artic_rl.mllm."""
