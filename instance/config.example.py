# Copy to instance/config.py and adapt. Environment variables MAILROOM_<NAME> override these.
# SECRET_KEY = "..."                      # default: a random key in instance/secret_key
# DATABASE_URL = "postgresql://mailroom:secret@127.0.0.1/mailroom"
# SESSION_COOKIE_SECURE = True            # behind HTTPS
# PUBLIC_BASE_URL = "https://poststelle.example.org"   # QR codes on printed route sheets
# SMTP_HOST = "mail.example.org"
# SMTP_PORT = 587
# SMTP_STARTTLS = True
# MAIL_FROM = "poststelle@example.org"
# RETENTION_DAYS = {"content_scans": 365, "recipient_data": 1095, "signatures": 1095, "login_data": 90}
# DISTANCE_MODEL = "osrm"                 # haversine | csv | osrm | valhalla
# DISTANCE_SERVER_URL = "http://127.0.0.1:5001"
# MAP_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
