"""van days: per van and day what the fleet reports group (kept by the fleet service with every write)

Revision ID: 7c4e2a9f1b60
Revises: 5a1e0c3d9b21
Create Date: 2026-12-04 03:40:00

The rows are made here from the logbook, the tours and the charging log as they stand (plain SQL, the same
definition as `mailroom.services.fleet.van_days.compute`); afterwards the service keeps them.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7c4e2a9f1b60"
down_revision = "5a1e0c3d9b21"
branch_labels = None
depends_on = None

EFFECTIVE = "NOT EXISTS (SELECT 1 FROM odometer_readings c WHERE c.corrects_id = r.id)"

FILL = f"""
INSERT INTO van_days (vehicle_id, day, high_km, low_km, tours, planned_km, complete_tours, complete_planned_km,
                      tour_km, soc_used, incomplete_tour_id, open_tours, charged_kwh, cost_cents)
SELECT vehicle_id, day, MAX(high_km), MIN(low_km), SUM(tours), SUM(planned_km), SUM(complete_tours),
       SUM(complete_planned_km), SUM(tour_km), SUM(soc_used), MIN(incomplete_tour_id), SUM(open_tours),
       SUM(charged_kwh), SUM(cost_cents)
FROM (  -- typed NULLs in the first part: PostgreSQL takes the union's column types from it
    SELECT r.vehicle_id AS vehicle_id, r.day AS day, r.km AS high_km, COALESCE(r.start_km, r.km) AS low_km,
           0 AS tours, 0.0 AS planned_km, 0 AS complete_tours, 0.0 AS complete_planned_km, 0.0 AS tour_km,
           CAST(NULL AS INTEGER) AS soc_used, CAST(NULL AS INTEGER) AS incomplete_tour_id, 0 AS open_tours,
           CAST(NULL AS DOUBLE PRECISION) AS charged_kwh, 0 AS cost_cents
    FROM odometer_readings r WHERE {EFFECTIVE}
    UNION ALL
    SELECT t.vehicle_id, t.service_date, NULL, NULL, 1, COALESCE(t.planned_km, 0.0),
           CASE WHEN COALESCE(d.n, 0) >= 2 THEN 1 ELSE 0 END,
           CASE WHEN COALESCE(d.n, 0) >= 2 THEN COALESCE(t.planned_km, 0.0) ELSE 0.0 END,
           CASE WHEN COALESCE(d.n, 0) >= 2 THEN d.km ELSE 0.0 END,
           CASE WHEN COALESCE(d.n, 0) >= 2 THEN d.soc ELSE NULL END,
           CASE WHEN COALESCE(d.n, 0) >= 2 THEN NULL ELSE t.id END,
           CASE WHEN COALESCE(d.starts, 0) = 0 OR COALESCE(d.ends, 0) = 0 THEN 1 ELSE 0 END,
           NULL, 0
    FROM tours t LEFT JOIN (
        SELECT r.tour_id AS tour_id, COUNT(r.id) AS n, MAX(r.km) - MIN(r.km) AS km,
               MAX(r.soc_percent) - MIN(r.soc_percent) AS soc,
               SUM(CASE WHEN r.kind = 'tour_start' THEN 1 ELSE 0 END) AS starts,
               SUM(CASE WHEN r.kind = 'tour_end' THEN 1 ELSE 0 END) AS ends
        FROM odometer_readings r WHERE r.tour_id IS NOT NULL AND {EFFECTIVE} GROUP BY r.tour_id
    ) d ON d.tour_id = t.id
    WHERE t.vehicle_id IS NOT NULL AND t.status IN ('started', 'finished')
    UNION ALL
    SELECT s.vehicle_id, s.day, NULL, NULL, 0, 0.0, 0, 0.0, 0.0, NULL, NULL, 0, s.kwh, s.cost_cents
    FROM charging_sessions s
    WHERE NOT EXISTS (SELECT 1 FROM charging_sessions n WHERE n.corrects_id = s.id)
) parts
GROUP BY vehicle_id, day
"""


def upgrade():
    op.create_table(
        "van_days",
        sa.Column("vehicle_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("high_km", sa.Float(), nullable=True),
        sa.Column("low_km", sa.Float(), nullable=True),
        sa.Column("tours", sa.Integer(), nullable=False),
        sa.Column("planned_km", sa.Float(), nullable=False),
        sa.Column("complete_tours", sa.Integer(), nullable=False),
        sa.Column("complete_planned_km", sa.Float(), nullable=False),
        sa.Column("tour_km", sa.Float(), nullable=False),
        sa.Column("soc_used", sa.Integer(), nullable=True),
        sa.Column("incomplete_tour_id", sa.Integer(), nullable=True),
        sa.Column("open_tours", sa.Integer(), nullable=False),
        sa.Column("charged_kwh", sa.Float(), nullable=True),
        sa.Column("cost_cents", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicles.id"], name=op.f("fk_van_days_vehicle_id_vehicles")),
        sa.PrimaryKeyConstraint("vehicle_id", "day", name=op.f("pk_van_days")),
    )
    with op.batch_alter_table("van_days", schema=None) as batch_op:
        batch_op.create_index("ix_van_days_open_tours", ["open_tours"], unique=False)
    op.execute(FILL)


def downgrade():
    with op.batch_alter_table("van_days", schema=None) as batch_op:
        batch_op.drop_index("ix_van_days_open_tours")
    op.drop_table("van_days")
