"""The courier's tour: start (odometer, charge; loads the items), hand over at a stop (receiver,
signature, pickups), skip a stop (items back to the shelf), end (odometer, charge; what is left goes
back to the shelf).

Every action comes from the courier's phone with a client-generated id (`client_action_id`, a UUID)
and the time it was done on the phone. The phone may queue actions while offline and send them later,
possibly more than once: an action id seen before is answered with the result stored the first time,
and nothing is stored again. The phone's time becomes the time of the custody events and readings.

Parts: `tours` (which tours a user sees, the phone's payload), `actions` (`perform`, ids, times, replays),
`steps` (start, hand-over, skip, end); `common` holds the limits. Public names are re-exported here.
"""

from __future__ import annotations

from mailroom.services.courier.actions import (
    Outcome,
    find_action,
    parse_action_id,
    parse_time,
    perform,
    replay,
)
from mailroom.services.courier.common import (
    ACTION_ID_RE,
    ACTION_KINDS,
    END_OF_TOUR_REASON,
    FUTURE_TOLERANCE,
    MAX_ITEMS_PER_STOP,
    MAX_PICKUPS,
    SIGNATURE_MAX_BYTES,
    SIGNATURE_MAX_PIXELS,
    SIGNATURE_MAX_SIDE,
    SKIP_REASONS,
)
from mailroom.services.courier.steps import (
    complete_stop,
    decode_signature,
    end_tour,
    skip_stop,
    start_tour,
)
from mailroom.services.courier.tours import (
    geo_uri,
    get_tour,
    may_act_on_any_tour,
    tel_uri,
    tour_payload,
    tours_today,
)

__all__ = [
    "ACTION_ID_RE",
    "ACTION_KINDS",
    "END_OF_TOUR_REASON",
    "FUTURE_TOLERANCE",
    "MAX_ITEMS_PER_STOP",
    "MAX_PICKUPS",
    "SIGNATURE_MAX_BYTES",
    "SIGNATURE_MAX_PIXELS",
    "SIGNATURE_MAX_SIDE",
    "SKIP_REASONS",
    "Outcome",
    "complete_stop",
    "decode_signature",
    "end_tour",
    "find_action",
    "geo_uri",
    "get_tour",
    "may_act_on_any_tour",
    "parse_action_id",
    "parse_time",
    "perform",
    "replay",
    "skip_stop",
    "start_tour",
    "tel_uri",
    "tour_payload",
    "tours_today",
]
