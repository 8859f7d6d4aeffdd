"""Default configuration: constants only.

Layers, later ones win: these defaults, `instance/config.py`, `MAILROOM_*` environment variables
(e.g. `MAILROOM_DATABASE_URL`, `MAILROOM_SECRET_KEY`), then the test config.
"""

from __future__ import annotations


class DefaultConfig:
    # Set in instance/config.py or MAILROOM_SECRET_KEY; `mailroom init` writes a random one.
    SECRET_KEY: str | None = None
    # None: sqlite file in the instance folder (filled in by create_app).
    DATABASE_URL: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}  # noqa: RUF012

    TIMEZONE = "Europe/Berlin"

    # Sessions and cookies
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  # set True behind HTTPS
    REMEMBER_COOKIE_HTTPONLY = True
    PERMANENT_SESSION_LIFETIME = 12 * 3600
    WTF_CSRF_TIME_LIMIT = 12 * 3600

    # Login throttling: after this many failures the account waits LOGIN_LOCK_SECONDS.
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_SECONDS = 300

    # Uploads: bounded in bytes and pixels.
    MAX_CONTENT_LENGTH = 25 * 1024 * 1024
    MAX_IMAGE_PIXELS = 60_000_000
    SCAN_DIR = "scans"  # below the instance folder

    # Retention of personal data, in days, per data category.
    RETENTION_DAYS = {  # noqa: RUF012
        "content_scans": 365,
        "recipient_data": 3 * 365,
        "signatures": 3 * 365,
        "login_data": 90,
    }

    # Notifications by e-mail (SMTP); no host: no mail is sent.
    SMTP_HOST: str | None = None
    SMTP_PORT = 25
    SMTP_USER: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_STARTTLS = False
    MAIL_FROM = "poststelle@stadt-oldenburg.example"

    # Working days: public holidays of this country and state (the `holidays` package), plus closed days.
    HOLIDAY_COUNTRY = "DE"
    HOLIDAY_SUBDIVISION = "NI"  # Niedersachsen
    CLOSED_DAYS = {"12-24": "Heiligabend", "12-31": "Silvester"}  # noqa: RUF012  ("MM-DD": name)

    # Tours
    DISTANCE_MODEL = "haversine"  # haversine | csv | osrm | valhalla
    DISTANCE_CIRCUITY = 1.3
    DISTANCE_CSV: str | None = None
    DISTANCE_SERVER_URL: str | None = None
    PLAN_TIME_LIMIT_S = 5.0
    MAP_TILE_URL: str | None = None  # e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"  # for QR codes on printed route sheets
    ITEMS_PER_BOX = 25  # letters per crate; parcels count as one crate each
    DISPATCH_SHIFT_START = "09:30"
    DISPATCH_SHIFT_END = "15:30"
    DISPATCH_BREAK: tuple[str, str, int] | None = None  # e.g. ("11:30", "13:00", 30): earliest, latest, minutes
    DISPATCH_WINTER_MONTHS = (11, 12, 1, 2, 3)  # the vans' winter range factor applies in these months
    DISPATCH_MAX_ROUNDS = 2
    DISPATCH_ADJUST_TIME_LIMIT_S = 2.0
    DISPATCH_STALE_RUN_S = 120  # a plan run without an answer after this long counts as failed

    # Fleet
    CO2_G_PER_KWH = 380  # German grid mix; configurable
