-- Holds that lapse in bulk, and answers that wait for durability.
-- `expired_fence` is the fencing token of the sweeper that expired a hold (see service/src/store/holds.rs), so the
-- database shows whether a lease holder wrote after it was overtaken. The new index serves the sweeper's chunks,
-- which read one event's lapsed holds in expiry order, and replaces `reservations_holds` (every status change
-- rewrites an entry in each index that holds the status, so one index fewer makes a mass lapse cheaper).
-- `durability_marks` takes one small write from a transaction that would otherwise end without writing, so that its
-- commit waits for a log flush covering every row its answers rest on (see service/src/store/durability.rs).

ALTER TABLE reservations ADD COLUMN expired_fence BIGINT NULL;
CREATE INDEX reservations_lapse ON reservations (event_id, status, expires_at);
DROP INDEX reservations_holds ON reservations;

CREATE TABLE durability_marks (
    event_id BIGINT NOT NULL PRIMARY KEY,
    marks BIGINT NOT NULL
) ENGINE = InnoDB;
