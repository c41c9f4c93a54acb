-- Up Migration
-- Second factors (docs/decisions/019-second-factor.md): a TOTP key per account, its recovery codes,
-- and the pending sign-ins between a correct password and the second step.

-- One TOTP key per account. confirmed_at is null while the enrolment waits for its first code: such
-- a key is no factor yet. last_used_step is the 30-second step of the last code accepted; a code of
-- that step or an earlier one is refused, so a code works once (RFC 6238 §5.2).
CREATE TABLE totp_factors (
  user_id        bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  secret         text NOT NULL CHECK (secret ~ '^[A-Z2-7]{32,}$'),  -- base32, 160 bits or more
  created_at     timestamptz NOT NULL,
  confirmed_at   timestamptz,
  last_used_step bigint
);

-- Recovery codes: 120 random bits each, stored as their SHA-256 (112 bits or more: no slow hash
-- needed, ADR 019). A used code keeps its row (used_at) so that "n left" counts what is left of this set.
CREATE TABLE recovery_codes (
  user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash   bytea NOT NULL CHECK (octet_length(code_hash) = 32),
  created_at  timestamptz NOT NULL,
  used_at     timestamptz,
  PRIMARY KEY (user_id, code_hash)
);

-- The second factors an account has, whatever their kind: what the sign-in asks for and what the
-- policy (REQUIRE_SECOND_FACTOR) checks. Passkeys add their table to this view.
CREATE VIEW second_factors AS
  SELECT user_id, 'totp'::text AS method FROM totp_factors WHERE confirmed_at IS NOT NULL;

-- A correct password for an account with a second factor starts one of these instead of a session.
-- The client holds a random handle; only its SHA-256 is stored. Bound to the account and to the
-- client's address; single use (consumed_at); short-lived (expires_at).
CREATE TABLE pending_sign_ins (
  handle_hash  bytea PRIMARY KEY CHECK (octet_length(handle_hash) = 32),
  user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  client_hash  bytea NOT NULL,
  created_at   timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL,
  consumed_at  timestamptz,
  return_to    text
);
CREATE INDEX pending_sign_ins_expires_at_idx ON pending_sign_ins (expires_at);

-- How each session signed in: shown in the sessions list.
ALTER TABLE sessions ADD COLUMN sign_in_method text NOT NULL DEFAULT 'password'
  CHECK (sign_in_method IN ('password', 'totp', 'recovery', 'passkey'));

-- A cached session carries whether its account has a second factor (the policy reads it): a change
-- of the TOTP key tells the session caches like a change of the account row does (ADR 014).
CREATE TRIGGER totp_factors_notify AFTER INSERT OR UPDATE OR DELETE ON totp_factors
  FOR EACH ROW EXECUTE FUNCTION notify_session_change();
CREATE TRIGGER totp_factors_truncate_notify AFTER TRUNCATE ON totp_factors
  FOR EACH STATEMENT EXECUTE FUNCTION notify_session_change();

-- Down Migration
DROP TRIGGER totp_factors_truncate_notify ON totp_factors;
DROP TRIGGER totp_factors_notify ON totp_factors;
ALTER TABLE sessions DROP COLUMN sign_in_method;
DROP TABLE pending_sign_ins;
DROP VIEW second_factors;
DROP TABLE recovery_codes;
DROP TABLE totp_factors;
