"""Plain dataclasses the PDF builders take. Times are already local (Europe/Berlin) and formatted
by the caller where noted; the builders only lay out and draw."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class ItemLabel:
    """Our own label for an item without a usable barcode."""

    code: str  # item code: Code 128 and QR
    incoming_number: str  # E-2026-004711
    received_at: datetime  # local time
    org_unit: str  # recipient org unit (short name and name)
    site_code: str
    kind: str = ""  # German label of the kind, e.g. "Einschreiben Übergabe"
    confidential: bool = False


@dataclass(frozen=True)
class RegisterEntry:
    """One line of the register of registered mail (Posteingangsbuch)."""

    incoming_number: str
    received_at: datetime  # local time
    kind: str
    code: str  # carrier code (S10) or our code
    sender: str
    org_unit: str
    file_number: str = ""
    delivery_date: date | None = None


@dataclass(frozen=True)
class RouteStopItem:
    code: str
    kind: str  # German label
    org_unit: str


@dataclass(frozen=True)
class RouteSheetStop:
    position: int
    site_code: str
    site_name: str
    address: str
    opening_hours: str  # "07:30–16:00"
    phone: str
    eta: str  # "09:12"
    deliver_boxes: int
    deliver_items: int  # counted items sorted for this site
    registered_items: list[RouteStopItem] = field(default_factory=list)  # listed with their codes
    pickup_boxes: int = 0
    remarks: str = ""
    lat: float | None = None
    lon: float | None = None
    is_depot: bool = False  # reload/recharge at the depot between two rounds


@dataclass(frozen=True)
class RouteSheet:
    tour_id: int
    service_date: date
    vehicle: str  # "E-Transporter 1 (OL-PS 101E)"
    driver: str
    planned_km: float
    range_km: float
    start_time: str  # "07:00"
    end_time: str
    tour_url: str  # the QR code opens this URL on the phone
    stops: list[RouteSheetStop]
    depot_name: str = "Zentrale Poststelle"
    depot_lat: float | None = None
    depot_lon: float | None = None
