"""Outgoing mail (Postausgang): products and dated tariffs (catalogue), franking sessions (franking),
franking-machine imports (importer), tracked items (tracked), budgets, reports, pickups from the sites,
downloads: posting list, CSV and PDF (exports); cost-centre lookup (units), bulk inserts (bulk)."""
