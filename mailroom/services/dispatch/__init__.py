"""Daily dispatch: the day's stops and vans, planning with `routes`, adjusting and re-planning.

- `day`: the day's stops, vans and drivers (the default-driver rule lives there, once);
- `problem`: the only place where ORM objects become `routes` dataclasses and back;
- `runs`: plan runs, `plan_day` and the job body `execute_plan_run(run_id)`;
- `adjust`: pin, re-plan the rest, move a stop; `breakdown`: a van's breakdown;
- `requests`: driver changes and Sonderstopps (incl. courier orders);
- `pages`: what the pages render (`day_page(day)`, map data, the day overview).

`from mailroom.services import dispatch; dispatch.plan_day(...)` keeps working: the public names of
the parts are re-exported here.
"""

from __future__ import annotations

from mailroom.services.dates import parse_day
from mailroom.services.dispatch.adjust import (
    check_courier_orders,
    move_stop,
    remaining_capacity,
    replan_tour,
)
from mailroom.services.dispatch.breakdown import breakdown_notice, replan_breakdown
from mailroom.services.dispatch.day import (
    PARCEL_KINDS,
    REASON_LABELS,
    DayStop,
    adhoc_stops,
    all_vehicles,
    available_vehicles,
    boxes_for,
    check_driver_choice,
    courier_pairs,
    couriers,
    day_label,
    day_stops,
    depot_site,
    drivers_for_day,
    get_stop,
    get_tour,
    items_by_stop,
    parse_return_by,
    reason_label,
    require_courier,
    shift_hours,
    sorted_items_by_site,
    templates_for,
    tours_of,
    usable_range_km,
    winter_factor,
)
from mailroom.services.dispatch.pages import (
    DayPage,
    TourProgress,
    day_page,
    items_still_out,
    map_data,
    overview,
    unserved_for_display,
)
from mailroom.services.dispatch.problem import build_problem
from mailroom.services.dispatch.requests import add_adhoc_stop, assign_driver, delete_adhoc_stop
from mailroom.services.dispatch.runs import (
    check_plannable,
    complete_plan_run,
    default_return_by,
    execute_plan_run,
    fail_plan_run,
    get_run,
    latest_run,
    missing_master_data,
    plan_day,
    plan_summary,
    previous_routes_for,
    problem_for_day,
    run_status,
    running_run,
    start_plan_run,
)

__all__ = [
    "PARCEL_KINDS",
    "REASON_LABELS",
    "DayPage",
    "DayStop",
    "TourProgress",
    "add_adhoc_stop",
    "adhoc_stops",
    "all_vehicles",
    "assign_driver",
    "available_vehicles",
    "boxes_for",
    "breakdown_notice",
    "build_problem",
    "check_courier_orders",
    "check_driver_choice",
    "check_plannable",
    "complete_plan_run",
    "courier_pairs",
    "couriers",
    "day_label",
    "day_page",
    "day_stops",
    "default_return_by",
    "delete_adhoc_stop",
    "depot_site",
    "drivers_for_day",
    "execute_plan_run",
    "fail_plan_run",
    "get_run",
    "get_stop",
    "get_tour",
    "items_by_stop",
    "items_still_out",
    "latest_run",
    "map_data",
    "missing_master_data",
    "move_stop",
    "overview",
    "parse_day",
    "parse_return_by",
    "plan_day",
    "plan_summary",
    "previous_routes_for",
    "problem_for_day",
    "reason_label",
    "remaining_capacity",
    "replan_breakdown",
    "replan_tour",
    "require_courier",
    "run_status",
    "running_run",
    "shift_hours",
    "sorted_items_by_site",
    "start_plan_run",
    "templates_for",
    "tours_of",
    "unserved_for_display",
    "usable_range_km",
    "winter_factor",
]
