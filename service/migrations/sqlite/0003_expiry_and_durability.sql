-- Holds that lapse in bulk; mirrors the MySQL migration of the same number, except `durability_marks`: SQLite makes
-- a commit visible only once it is synced, so its answers need no mark (see service/src/store/durability.rs).

ALTER TABLE reservations ADD COLUMN expired_fence INTEGER NULL;
CREATE INDEX reservations_lapse ON reservations (event_id, status, expires_at);
DROP INDEX reservations_holds;
