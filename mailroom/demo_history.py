"""30 days of plausible history for the demo (items, custody events, tours, odometer readings)."""

from __future__ import annotations

import random


def seed_history(rng: random.Random, *, days: int = 30) -> None:
    """Filled in by the foundation work; empty history for now."""
