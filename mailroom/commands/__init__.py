"""CLI commands per area; each module has `register(app)`, called from mailroom.cli."""
