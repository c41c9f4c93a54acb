-- Up Migration
-- The sign-in before the latest one, shown on the dashboard so a user can spot a sign-in they do
-- not remember. recordLogin (lib/users.ts) moves last_login_time here in the same UPDATE that
-- sets the new one, so the two can never disagree.
ALTER TABLE users ADD COLUMN previous_login_time timestamptz;

-- Down Migration
ALTER TABLE users DROP COLUMN previous_login_time;
