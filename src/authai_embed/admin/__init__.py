"""Operating a mount: the kill switch, admin operations and their audit log (no HTTP here;
the optional admin routes are `asgi/admin_routes.py`)."""
