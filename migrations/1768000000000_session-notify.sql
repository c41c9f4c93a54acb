-- Up Migration
-- Every change to a user's sessions or account row tells the running services at commit, so their
-- session caches (lib/auth/session-cache.ts) drop that user's entries: a trigger, so no write path
-- can forget to (docs/decisions/014-session-cache.md). The payload is "<schema>:<user id>"; a
-- schema's service ignores the others sharing the database. TRUNCATE says "<schema>:*" (all).
-- PostgreSQL folds identical notifications of one transaction into one.
CREATE FUNCTION notify_session_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_LEVEL = 'STATEMENT' THEN
    PERFORM pg_notify('gateway_auth_sessions', TG_TABLE_SCHEMA || ':*');
  ELSIF TG_TABLE_NAME = 'users' THEN
    PERFORM pg_notify('gateway_auth_sessions', TG_TABLE_SCHEMA || ':' || OLD.id);
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('gateway_auth_sessions', TG_TABLE_SCHEMA || ':' || OLD.user_id);
  ELSE
    PERFORM pg_notify('gateway_auth_sessions', TG_TABLE_SCHEMA || ':' || NEW.user_id);
  END IF;
  RETURN NULL;
END $$;

-- a sign-in (INSERT), a revocation (UPDATE of revoked_at), the sweep and account deletion (DELETE)
CREATE TRIGGER sessions_notify AFTER INSERT OR UPDATE OR DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION notify_session_change();
-- the cached user columns (name, login times) and a deleted account
CREATE TRIGGER users_notify AFTER UPDATE OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION notify_session_change();
CREATE TRIGGER sessions_truncate_notify AFTER TRUNCATE ON sessions
  FOR EACH STATEMENT EXECUTE FUNCTION notify_session_change();
CREATE TRIGGER users_truncate_notify AFTER TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION notify_session_change();

-- Down Migration
DROP TRIGGER users_truncate_notify ON users;
DROP TRIGGER sessions_truncate_notify ON sessions;
DROP TRIGGER users_notify ON users;
DROP TRIGGER sessions_notify ON sessions;
DROP FUNCTION notify_session_change();
