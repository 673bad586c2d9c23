import type Database from 'better-sqlite3';

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_events (
  id           TEXT PRIMARY KEY,
  time_ms      INTEGER NOT NULL,
  action       TEXT NOT NULL,
  category     TEXT NOT NULL,
  outcome      TEXT NOT NULL,
  actor_id     TEXT NOT NULL,
  workspace_id TEXT,
  service_name TEXT,
  doc          TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events (time_ms, id);
CREATE INDEX IF NOT EXISTS audit_events_workspace_time ON audit_events (workspace_id, time_ms, id);
CREATE INDEX IF NOT EXISTS audit_events_actor_time ON audit_events (actor_id, time_ms, id);
CREATE INDEX IF NOT EXISTS audit_events_action_time ON audit_events (action, time_ms, id);
CREATE TABLE IF NOT EXISTS audit_rejected (
  id           TEXT PRIMARY KEY,
  received_ms  INTEGER NOT NULL,
  reason       TEXT NOT NULL,
  service_name TEXT,
  record       TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS audit_rejected_time ON audit_rejected (received_ms);
`;

/**
 * Schema changes after the first release, by `PRAGMA user_version`: a file written by an
 * older version is brought forward on open, in one transaction each.
 */
const MIGRATIONS = [
  // 1: tamper evidence (issue 8). The chain position lives in columns, not in `doc`, so
  // `doc` stays the contract event exactly as it was hashed.
  `ALTER TABLE audit_events ADD COLUMN chain_id TEXT;
   ALTER TABLE audit_events ADD COLUMN chain_seq INTEGER;
   ALTER TABLE audit_events ADD COLUMN chain_hash TEXT;
   -- Not UNIQUE: a forged duplicate position is for verify to name, not for the schema to hide.
   CREATE INDEX audit_events_chain ON audit_events (chain_id, chain_seq, id);
   CREATE TABLE audit_digests (
     chain_id TEXT NOT NULL,
     last_seq INTEGER NOT NULL,
     doc      TEXT NOT NULL,
     PRIMARY KEY (chain_id, last_seq)
   ) WITHOUT ROWID;`,
  // 2: dead letters you can see and replay (issue 14): the record as sent and the problems
  // per field, as JSON; NULL in rows from before, which stay readable.
  `ALTER TABLE audit_rejected ADD COLUMN original TEXT;
   ALTER TABLE audit_rejected ADD COLUMN problems TEXT;
   CREATE INDEX audit_rejected_service_time ON audit_rejected (service_name, received_ms);`,
  // 3: trace context (issue 14). A column, so "the events of this trace" is an index
  // lookup rather than a scan of every document in the time range; partial, since most
  // events carry none. Earlier rows have no trace id (the contract had none), so nothing
  // to fill in.
  `ALTER TABLE audit_events ADD COLUMN trace_id TEXT;
   CREATE INDEX audit_events_trace ON audit_events (trace_id, time_ms, id) WHERE trace_id IS NOT NULL;`,
];

/** Creates the tables, then brings a file written by an older version forward. */
export function prepareSchema(db: Database.Database): void {
  db.exec(SCHEMA);
  const version = db.pragma('user_version', { simple: true }) as number;
  MIGRATIONS.slice(version).forEach((sql, i) => {
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${version + i + 1}`);
    })();
  });
}
