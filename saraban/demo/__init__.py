"""The demo organisation loaded by ``saraban load_demo`` (never on a real node by accident)."""
