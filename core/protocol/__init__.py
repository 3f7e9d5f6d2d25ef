"""What crosses between the engine and whoever watches or steers it: commands in, telemetry and events
out, the states a run is in, and events in plain words. Plain data; no torch."""
