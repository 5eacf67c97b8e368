-- Holds and lease fences; mirrors the MySQL migration of the same number.

ALTER TABLE reservations ADD COLUMN expires_at INTEGER NULL;
CREATE INDEX reservations_holds ON reservations (status, expires_at);

CREATE TABLE lease_fences (
    name TEXT NOT NULL PRIMARY KEY,
    fence INTEGER NOT NULL
);

INSERT INTO lease_fences (name, fence) VALUES ('hold-sweeper', 0);
