"""Plain dataclasses describing a tour-planning problem and its plan.

Times are minutes since midnight of the planning day (local time); distances are kilometres.
Nothing here knows about Flask, databases or OR-Tools: callers build a `Problem`, call
`routes.plan_tours(problem, time_limit_s=...)` and get a `Plan` back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class Depot:
    """The mail room: where every tour starts and ends, and where vans reload and recharge."""

    id: str
    lat: float
    lon: float
    opens_min: int = 0
    closes_min: int = DAY_MINUTES
    name: str = ""


@dataclass(frozen=True)
class Stop:
    """A site to visit. `deliver` boxes come from the depot, `pickup` boxes go back to it."""

    id: str
    lat: float
    lon: float
    service_min: float = 0.0
    window: tuple[int, int] | None = None  # opening hours (earliest arrival, latest arrival)
    deliver: int = 0
    pickup: int = 0
    must_visit: bool = True
    priority: int = 1  # for optional stops: a higher priority is dropped later
    name: str = ""


@dataclass(frozen=True)
class PickupDelivery:
    """Internal mail from one stop to another: picked up first, delivered later by the same van."""

    pickup_stop: str
    delivery_stop: str
    boxes: int = 1


@dataclass(frozen=True)
class Break:
    """The driver's break: starts between the two times, lasts `duration_min`."""

    earliest_start_min: int
    latest_start_min: int
    duration_min: int


@dataclass(frozen=True)
class Vehicle:
    id: str
    capacity: int  # boxes
    battery_range_km: float
    winter_factor: float = 1.0  # e.g. 0.75 in winter
    safety_reserve: float = 0.15  # share of the range never planned
    speed_kmh: float = 30.0
    shift_start_min: int = 7 * 60
    shift_end_min: int = 15 * 60 + 30
    breaks: tuple[Break, ...] = ()
    available: bool = True  # False: in the workshop
    max_rounds: int = 2  # rounds per day; between rounds the van reloads and recharges at the depot
    # Re-planning mid-day: where the van is now, since when, and what it already drove and carries.
    start_lat: float | None = None
    start_lon: float | None = None
    start_min: int | None = None
    driven_km: float = 0.0
    name: str = ""

    @property
    def usable_range_km(self) -> float:
        return self.battery_range_km * self.winter_factor * (1.0 - self.safety_reserve)


@dataclass(frozen=True)
class Matrix:
    """Distances (km) and driving times (minutes) between locations, indexed by location id."""

    ids: tuple[str, ...]
    km: tuple[tuple[float, ...], ...]
    minutes: tuple[tuple[float, ...], ...]

    def index(self, location_id: str) -> int:
        return self.ids.index(location_id)


@dataclass
class Problem:
    depot: Depot
    stops: list[Stop]
    vehicles: list[Vehicle]
    pairs: list[PickupDelivery] = field(default_factory=list)
    matrix: Matrix | None = None  # None: haversine x circuity at each van's speed (routes.matrix)
    reload_min: float = 15.0  # time at the depot between two rounds (reload, quick charge)
    recharge_km_per_min: float = 1.0  # range regained per minute at the depot between rounds
    previous_routes: dict[str, list[str]] | None = None  # warm start: stop ids per vehicle id
    # An optional stop is worth this many km of detour per priority point (its drop penalty).
    optional_km_per_priority: float = 10.0
    circuity: float = 1.3  # road km per great-circle km when no matrix is given


class UnservedReason(StrEnum):
    RANGE = "range"
    TIME_WINDOW = "time_window"
    CAPACITY = "capacity"
    SHIFT = "shift"
    NO_VEHICLE = "no_vehicle"
    OPTIONAL = "optional"  # an optional stop dropped because it did not pay off


@dataclass(frozen=True)
class Visit:
    """One call in a tour: a stop, or the depot between two rounds (stop_id == depot id)."""

    stop_id: str
    arrival_min: float
    departure_min: float
    load_after: int  # boxes on board after this call
    km_after: float  # km driven in this tour up to and including the leg to this call
    round: int = 1
    is_depot: bool = False


@dataclass
class Tour:
    vehicle_id: str
    visits: list[Visit]
    km: float
    start_min: float
    end_min: float
    rounds: int = 1
    range_km: float = 0.0  # usable range the tour was planned against
    break_start_min: float | None = None

    @property
    def stop_ids(self) -> list[str]:
        return [v.stop_id for v in self.visits if not v.is_depot]


@dataclass(frozen=True)
class Unserved:
    stop_id: str
    reason: UnservedReason
    detail: str  # a sentence for people, e.g. "closes 13:00, earliest arrival 13:25"


@dataclass
class Plan:
    tours: list[Tour]
    unserved: list[Unserved]
    total_km: float
    solve_time_s: float
    status: str = "ok"  # "ok" or "partial" (some must-visit stops unserved)
