"""WSGI entry point: refuses to start outside demo mode without the node's secrets."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saraban.settings")
application = get_wsgi_application()

from saraban.core.keys import require_node_secrets  # noqa: E402 (needs Django set up)

require_node_secrets()
