"""The Thai web interface: thin views that parse, call an action or selector, and render."""
