-- Up Migration
-- rate-limiter-flexible's PostgreSQL store (lib/throttle.ts): one row per counter, shared by every
-- instance and kept across restarts. key = "<counter>:<sha256 of what is counted>", expire in ms.
CREATE TABLE throttle (
  key     varchar(255) PRIMARY KEY,
  points  integer NOT NULL DEFAULT 0,
  expire  bigint
);
CREATE INDEX throttle_expire_idx ON throttle (expire);

-- Down Migration
DROP TABLE throttle;
