-- Up Migration
CREATE TABLE users (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username        text NOT NULL CHECK (username ~ '^[A-Za-z0-9._-]{3,32}$'),
  password_hash   text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  last_login_time timestamptz
);
-- Alice and alice are one account; the name is shown as registered.
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));

-- A JWT is only accepted while its row is here and not revoked, so logout and a password change
-- can take back a token whose exp has not passed (docs/decisions/002-jwt-with-session-rows.md).
CREATE TABLE sessions (
  id          text PRIMARY KEY,          -- the token's jti: 256 random bits, base64url
  user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  revoked_at  timestamptz
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- Down Migration
DROP TABLE sessions;
DROP TABLE users;
