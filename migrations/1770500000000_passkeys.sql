-- Up Migration
-- Passkeys (WebAuthn credentials), a second factor (docs/decisions/020-passkeys.md). Only public
-- material: the credential's id and public key; the private key never leaves the authenticator.
-- A passkey works only under the name (RP ID) it was registered at, so that name is kept with it.
CREATE TABLE passkeys (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id        bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  credential_id  text NOT NULL UNIQUE
    CHECK (credential_id ~ '^[A-Za-z0-9_-]+$' AND length(credential_id) BETWEEN 16 AND 1364),
  public_key     bytea NOT NULL,
  -- the authenticator's signature counter: a use that does not raise it (when it counts) is a clone
  counter        bigint NOT NULL DEFAULT 0 CHECK (counter >= 0),
  transports     text[] NOT NULL DEFAULT '{}',
  rp_id          text NOT NULL,
  name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  created_at     timestamptz NOT NULL,
  last_used_at   timestamptz
);
CREATE INDEX passkeys_user_id_idx ON passkeys (user_id);

-- A ceremony's challenge: random, short-lived and single-use, bound to the session (registering)
-- or the pending sign-in (signing in) that asked for it. In the database, not in a process's
-- memory: the options and the answer may reach different processes (or Lambda instances).
CREATE TABLE webauthn_challenges (
  challenge   text PRIMARY KEY,
  purpose     text NOT NULL CHECK (purpose IN ('register', 'authenticate')),
  -- 'session:<id>' or 'pending:<id>': who may answer it
  bound_to    text NOT NULL,
  user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  rp_id       text NOT NULL,
  origin      text NOT NULL,
  expires_at  timestamptz NOT NULL
);
-- one open ceremony per purpose and holder: asking again replaces it
CREATE UNIQUE INDEX webauthn_challenges_bound_idx ON webauthn_challenges (bound_to, purpose);
CREATE INDEX webauthn_challenges_expires_at_idx ON webauthn_challenges (expires_at);

-- A passkey is a second factor (migrations/1770000000000_second-factors.sql): the sign-in asks for
-- one, and REQUIRE_SECOND_FACTOR counts it.
CREATE OR REPLACE VIEW second_factors AS
  SELECT user_id, 'totp'::text AS method FROM totp_factors WHERE confirmed_at IS NOT NULL
  UNION ALL
  SELECT DISTINCT user_id, 'passkey'::text AS method FROM passkeys;

-- Cached sessions carry whether the account has a second factor (ADR 014): adding or removing a
-- passkey tells the caches; renaming one or signing in with it changes nothing they hold.
CREATE TRIGGER passkeys_notify AFTER INSERT OR DELETE ON passkeys
  FOR EACH ROW EXECUTE FUNCTION notify_session_change();
CREATE TRIGGER passkeys_truncate_notify AFTER TRUNCATE ON passkeys
  FOR EACH STATEMENT EXECUTE FUNCTION notify_session_change();

-- Down Migration
CREATE OR REPLACE VIEW second_factors AS
  SELECT user_id, 'totp'::text AS method FROM totp_factors WHERE confirmed_at IS NOT NULL;
DROP TABLE webauthn_challenges;
DROP TABLE passkeys;
