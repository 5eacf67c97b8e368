-- The schema of the reservation service, SQLite dialect (the embedded default). It mirrors the MySQL schema.

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    total_seats INTEGER NOT NULL,
    available_seats INTEGER NOT NULL,
    event_date INTEGER NOT NULL,
    sales_open_at INTEGER NOT NULL,
    sales_close_at INTEGER NULL,
    closed_at INTEGER NULL,
    per_user_limit INTEGER NOT NULL,
    max_per_order INTEGER NOT NULL,
    hold_seconds INTEGER NOT NULL,
    external_key TEXT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CHECK (available_seats >= 0 AND available_seats <= total_seats)
);
CREATE INDEX events_event_date ON events (event_date);

CREATE TABLE reservations (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events (id),
    user_id TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    status TEXT NOT NULL,
    idempotency_key TEXT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX reservations_event_user ON reservations (event_id, user_id, status);
CREATE INDEX reservations_user ON reservations (user_id, id);

CREATE TABLE id_blocks (
    name TEXT NOT NULL PRIMARY KEY,
    next_id INTEGER NOT NULL
);
INSERT INTO id_blocks (name, next_id) VALUES ('reservations', 1);
