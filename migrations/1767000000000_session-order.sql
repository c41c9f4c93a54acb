-- Up Migration
-- The order in which sessions started, exactly: created_at is the token's iat (whole seconds), so two
-- sign-ins within a second tie on it. SESSIONS_PER_USER ends the oldest by this order.
ALTER TABLE sessions ADD COLUMN started bigint GENERATED ALWAYS AS IDENTITY;

-- Down Migration
ALTER TABLE sessions DROP COLUMN started;
