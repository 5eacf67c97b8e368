-- Holds: a reservation may hold seats until `expires_at`, then it is confirmed by its buyer or expired by the
-- sweeper. `lease_fences` holds the fencing token of each single-replica job (see service/src/lease.rs).

ALTER TABLE reservations ADD COLUMN expires_at BIGINT NULL;
CREATE INDEX reservations_holds ON reservations (status, expires_at);

CREATE TABLE lease_fences (
    name VARCHAR(64) NOT NULL PRIMARY KEY,
    fence BIGINT NOT NULL
) ENGINE = InnoDB;

INSERT INTO lease_fences (name, fence) VALUES ('hold-sweeper', 0);
