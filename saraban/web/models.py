"""The web interface keeps no records of its own (login failures: saraban.agencies.throttle)."""
