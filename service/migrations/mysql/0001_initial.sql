-- The schema of the reservation service, MySQL dialect (Aurora MySQL 8, MariaDB 10.11).
-- Times are UTC milliseconds since the epoch in BIGINT columns, so the same code reads MySQL and SQLite.

CREATE TABLE events (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    total_seats BIGINT NOT NULL,
    available_seats BIGINT NOT NULL,
    event_date BIGINT NOT NULL,
    sales_open_at BIGINT NOT NULL,
    sales_close_at BIGINT NULL,
    closed_at BIGINT NULL,
    per_user_limit BIGINT NOT NULL,
    max_per_order BIGINT NOT NULL,
    hold_seconds BIGINT NOT NULL,
    external_key VARCHAR(255) NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT events_external_key UNIQUE (external_key),
    CONSTRAINT events_seats_in_range CHECK (available_seats >= 0 AND available_seats <= total_seats),
    KEY events_event_date (event_date)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE reservations (
    id BIGINT NOT NULL PRIMARY KEY,
    event_id BIGINT NOT NULL,
    user_id VARCHAR(128) NOT NULL,
    quantity BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    idempotency_key VARCHAR(128) NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT reservations_event FOREIGN KEY (event_id) REFERENCES events (id),
    CONSTRAINT reservations_idempotency UNIQUE (user_id, idempotency_key),
    CONSTRAINT reservations_quantity_positive CHECK (quantity > 0),
    KEY reservations_event_user (event_id, user_id, status),
    KEY reservations_user (user_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Blocks of reservation ids handed out to writers (a hi-lo allocator), so one multi-row insert needs no
-- auto-increment round trip and ids stay below 2^53 for JavaScript clients.
CREATE TABLE id_blocks (
    name VARCHAR(64) NOT NULL PRIMARY KEY,
    next_id BIGINT NOT NULL
) ENGINE = InnoDB;

INSERT INTO id_blocks (name, next_id) VALUES ('reservations', 1);
