"""What a real sender knows and does: actions, feedback, observations (shared by env and streamer)."""
