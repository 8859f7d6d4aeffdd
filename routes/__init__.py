"""Tour optimisation for the mail room's electric vans, on OR-Tools.

"routes" here means vehicle routes, not Flask URL routes: inside the web app the feature is
called "dispatch". This package is pure Python (no Flask, no database, no mailroom imports).
"""

from routes.model import (
    Break,
    Depot,
    Matrix,
    PickupDelivery,
    Plan,
    Problem,
    Stop,
    Tour,
    Unserved,
    UnservedReason,
    Vehicle,
    Visit,
)
from routes.solver import plan_tours

__all__ = [
    "Break",
    "Depot",
    "Matrix",
    "PickupDelivery",
    "Plan",
    "Problem",
    "Stop",
    "Tour",
    "Unserved",
    "UnservedReason",
    "Vehicle",
    "Visit",
    "plan_tours",
]
