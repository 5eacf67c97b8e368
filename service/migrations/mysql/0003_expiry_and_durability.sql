-- Answers that wait for durability.
-- `durability_marks` takes one small write from a transaction that would otherwise end without writing, so that its
-- commit waits for a log flush covering every row its answers rest on (see service/src/store/durability.rs).

CREATE TABLE durability_marks (
    event_id BIGINT NOT NULL PRIMARY KEY,
    marks BIGINT NOT NULL
) ENGINE = InnoDB;
