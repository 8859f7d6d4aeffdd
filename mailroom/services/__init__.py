"""Business rules. Services never touch `request`, `flash` or templates; they flush, the view commits."""
