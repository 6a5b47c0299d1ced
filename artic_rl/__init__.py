"""artic_rl: a research RL framework for AI video chat (bitrate / ROI / frame-rate control for MLLM video assistants)."""

__version__ = "0.1.0"
