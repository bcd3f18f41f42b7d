#!/usr/bin/env python
"""Django's command-line utility; operators use the `saraban` command, which wraps this."""

from saraban.cli import main

if __name__ == "__main__":
    main()
