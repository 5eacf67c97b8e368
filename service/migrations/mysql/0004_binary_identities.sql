-- One identity (invariant I7): user ids and idempotency keys compare byte for byte, as they do in Rust.
-- `utf8mb4_bin` is a PAD SPACE collation: it ignores trailing spaces, so `alice` and `alice ` were one buyer to the
-- database (one unique index entry, one listing) and two to the service. Binary strings have no collation and no
-- padding on Aurora MySQL 8 and MariaDB 10.11 alike (the NO PAD binary collations differ between the two:
-- utf8mb4_0900_bin on MySQL, utf8mb4_nopad_bin on MariaDB). The widths hold the longest values the service accepts:
-- 128 characters of up to 4 bytes for a user id, 128 visible ASCII characters for a key.

ALTER TABLE reservations
    MODIFY user_id VARBINARY(512) NOT NULL,
    MODIFY idempotency_key VARBINARY(128) NULL;

ALTER TABLE events
    MODIFY external_key VARBINARY(255) NULL;
