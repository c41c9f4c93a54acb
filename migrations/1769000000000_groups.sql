-- Up Migration
-- Groups decide which protected apps an account may open (ACCESS_RULES, docs/front-door.md).
-- The gateway's owner is its first account: it is in `admins`. Existing installations: the
-- oldest account (the one REGISTRATION=first let in) becomes the admin, the others get no group.
ALTER TABLE users ADD COLUMN groups text[] NOT NULL DEFAULT '{}'
  CHECK (array_position(groups, NULL) IS NULL);
UPDATE users SET groups = '{admins}' WHERE id = (SELECT id FROM users ORDER BY created_at, id LIMIT 1);

-- Whichever path creates the first account (registration, the admin CLI, an import), it is in
-- admins. The advisory lock is the registration's "first account" lock (lib/auth/registration.ts):
-- two first accounts racing cannot both be the first.
CREATE FUNCTION first_account_is_admin() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1734421862);
  IF NOT EXISTS (SELECT 1 FROM users) AND NOT ('admins' = ANY (NEW.groups)) THEN
    NEW.groups := array_append(NEW.groups, 'admins');
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER users_first_account_is_admin BEFORE INSERT ON users
  FOR EACH ROW EXECUTE FUNCTION first_account_is_admin();

-- Down Migration
DROP TRIGGER users_first_account_is_admin ON users;
DROP FUNCTION first_account_is_admin();
ALTER TABLE users DROP COLUMN groups;
