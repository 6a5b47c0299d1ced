"""Pure, clock-injected controllers used by the heuristic agents and the runtime streamer."""
