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
    # No pool pre-ping: it costs a round trip per connection checkout, and a scan-in checks out two or three.
    # After a database restart a request on a stale pooled connection gets 503 with Retry-After instead (the
    # pool is refreshed then; scan stations and phones retry with the same Idempotency-Key).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}  # noqa: RUF012
    # Connections kept open per process, in each of two pools: the requests' transactions, and the side
    # engine's single statements (Idempotency-Key claims, the incoming-number counter). A request holds at
    # most one of each: at least the server's threads, or every request beyond opens a new connection.
    DATABASE_POOL_SIZE = 20

    TIMEZONE = "Europe/Berlin"  # days, day boundaries and displayed times (services/clock.py)
    # Pin the product's clock: it starts at this moment (ISO 8601, e.g. "2026-03-02T07:30:00+01:00") when
    # the app starts and runs on from there. For tests and demos; None: the real clock.
    CLOCK_NOW: str | None = None

    # Sessions and cookies
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    PERMANENT_SESSION_LIFETIME = 12 * 3600
    WTF_CSRF_TIME_LIMIT = 12 * 3600
    # Served over HTTPS (behind a reverse proxy): cookies are Secure and HSTS is sent.
    HTTPS = False
    HSTS_MAX_AGE = 365 * 24 * 3600
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are trusted (werkzeug's ProxyFix);
    # 0: none, the client address is the socket's. Set it behind a proxy, or every client shares its address.
    PROXY_FIX_HOPS = 0

    # Login throttling (Flask-Limiter): LOGIN_MAX_FAILURES failed logins per account and client address in
    # LOGIN_LOCK_SECONDS, and LOGIN_ATTEMPTS_PER_ADDRESS logins from one address in all. Never a lock of the
    # account itself, so that nobody can lock a known user out by failing logins from elsewhere.
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_SECONDS = 300
    LOGIN_ATTEMPTS_PER_ADDRESS = "30 per minute"
    # Where Flask-Limiter counts: memory (one server process, the default) or redis://... for several.
    RATELIMIT_STORAGE_URI = "memory://"

    # Scan station: a wrong scan can be undone (custody event "Fehlscan storniert") this long after it was logged.
    INTAKE_VOID_MINUTES = 10

    # Uploads: bounded in bytes and pixels.
    MAX_CONTENT_LENGTH = 25 * 1024 * 1024  # one request (also waitress's max_request_body_size in `mailroom serve`)
    MAX_IMAGE_PIXELS = 60_000_000
    # Budgets of reading uploaded scans (labels.reading.ReadLimits, mailroom/services/uploads.py).
    UPLOAD_MAX_BYTES = 20 * 1024 * 1024  # one envelope/label scan
    UPLOAD_DECODE_PIXELS = 12_000_000  # a page is decoded at most this large (reduced; PDFs rendered lower)
    UPLOAD_FILE_PIXELS = 400_000_000  # pages x pixels of one file; pages beyond are reported as not read
    UPLOAD_REQUEST_PIXELS = 800_000_000  # pages x pixels over all files of one request
    UPLOAD_MAX_PAGES = 50  # pages or frames read per file; pages beyond are reported as not read
    UPLOAD_FILE_SECONDS = 10.0  # time budget of reading one file
    UPLOAD_DECODE_SLOTS = 2  # uploads read at once (the machine's cores)
    UPLOAD_DECODE_QUEUE = 2  # uploads waiting for a slot; more are answered 503 at once
    UPLOAD_DECODE_WAIT_S = 30.0  # longest wait for a slot before a 503
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
    SMTP_TIMEOUT = 10.0  # seconds
    # A registered item received after this time ("HH:MM" local) goes out with the next working day's tour.
    NOTIFY_TOUR_CUTOFF = "09:30"
    OUTBOX_MAX_ATTEMPTS = 8  # retries 1, 2, 4 ... minutes apart, then the row counts as failed

    # Job queue (`mailroom worker`, Huey): None = SQLite file instance/queue.sqlite3; or redis://host:6379/0.
    QUEUE_URL: str | None = None
    QUEUE_IMMEDIATE: bool | None = None  # None: immediate (jobs run inline) only when TESTING
    WORKER_THREADS = 2

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
    # Geocoding of site addresses (optional): a self-hosted Nominatim or Photon server.
    GEOCODER_URL: str | None = None  # e.g. http://nominatim.intern:8080
    GEOCODER_KIND = "nominatim"  # nominatim | photon
    GEOCODER_TIMEOUT_S = 5.0
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"  # for QR codes on printed route sheets
    ITEMS_PER_BOX = 25  # letters per crate; parcels count as one crate each
    DISPATCH_SHIFT_START = "09:30"
    DISPATCH_SHIFT_END = "15:30"
    DISPATCH_BREAK: tuple[str, str, int] | None = None  # e.g. ("11:30", "13:00", 30): earliest, latest, minutes
    DISPATCH_WINTER_MONTHS = (11, 12, 1, 2, 3)  # the vans' winter range factor applies in these months
    DISPATCH_MAX_ROUNDS = 2
    DISPATCH_ADJUST_TIME_LIMIT_S = 2.0
    DISPATCH_STALE_RUN_S = 120  # a plan run without an answer after this long counts as failed

    # Outgoing mail
    OUTGOING_SERVED_AFTER_DAYS = 4  # an Einschreiben counts as served on this day after posting (§ 4 VwZG)
    OUTGOING_PZU_OVERDUE_DAYS = 14  # a PZU's Zustellungsurkunde is overdue after this many days

    # Fleet
    CO2_G_PER_KWH = 380  # German grid mix; configurable
    CO2_SOURCE = "Umweltbundesamt, Strommix 2023 (Standardwert)"  # for years without a stored factor
    FLEET_DIESEL_G_PER_KM = 212  # reference diesel van: 8 l/100 km x 2.645 kg CO2 per litre
    FLEET_CHARGING_LOSS = 0.08  # AC wallbox: grid kWh = battery kWh x (1 + loss)
    FLEET_MAX_KM_PER_DAY = 600  # a reading implying more km per day than this is refused as a typo
    FLEET_PLAN_DEVIATION = 0.2  # a tour driven this share off its planned km is flagged for review
    FLEET_INCOMPLETE_DAYS = 7  # tours without an end reading after this many days are listed
    FLEET_RANGE_TOURS = 20  # measured consumption: the last N tours of the same season ...
    FLEET_RANGE_MIN_TOURS = 5  # ... at least this many, else the rated range counts
    FLEET_RANGE_MIN_KM = 150  # ... and at least this many km on them (a few short tours say too little)
