"""The courier's actions: their kinds, limits and the German skip reasons."""

from __future__ import annotations

import re
from datetime import timedelta

ACTION_KINDS = ("start", "stop_done", "skip", "end")
ACTION_ID_RE = re.compile(r"^[A-Za-z0-9-]{8,40}$")
FUTURE_TOLERANCE = timedelta(minutes=5)

SIGNATURE_MAX_BYTES = 512 * 1024
SIGNATURE_MAX_SIDE = 2000
SIGNATURE_MAX_PIXELS = 2_000_000
MAX_PICKUPS = 999
MAX_ITEMS_PER_STOP = 500

SKIP_REASONS = [
    "Standort geschlossen",
    "Niemand angetroffen",
    "Zeit reicht nicht",
    "Zufahrt nicht möglich",
    "Fahrzeugproblem",
]
END_OF_TOUR_REASON = "Bei Tourende nicht angefahren"
