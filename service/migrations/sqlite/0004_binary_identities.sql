-- One identity (invariant I7); the MySQL migration of the same number makes user ids and keys compare byte for byte.
-- SQLite's TEXT columns already do (the BINARY collation: memcmp, no padding, case-sensitive), but a BLOB never
-- equals the TEXT of the same bytes, so a user id or key stored as a BLOB would be a second identity for the same
-- buyer. These triggers keep both TEXT.

CREATE TRIGGER reservations_identity_is_text BEFORE INSERT ON reservations
WHEN typeof(NEW.user_id) <> 'text' OR typeof(NEW.idempotency_key) NOT IN ('text', 'null')
BEGIN
    SELECT RAISE(ABORT, 'reservations.user_id and idempotency_key must be TEXT');
END;

CREATE TRIGGER reservations_identity_stays_text BEFORE UPDATE OF user_id, idempotency_key ON reservations
WHEN typeof(NEW.user_id) <> 'text' OR typeof(NEW.idempotency_key) NOT IN ('text', 'null')
BEGIN
    SELECT RAISE(ABORT, 'reservations.user_id and idempotency_key must be TEXT');
END;

CREATE TRIGGER events_external_key_is_text BEFORE INSERT ON events
WHEN typeof(NEW.external_key) NOT IN ('text', 'null')
BEGIN
    SELECT RAISE(ABORT, 'events.external_key must be TEXT');
END;
