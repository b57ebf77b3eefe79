//! The server's SQLite database: connection set-up and schema. One writer connection does
//! everything, so commit order is the order in which transactions run.

use std::path::Path;

use rusqlite::Connection;

pub(crate) const FILE_NAME: &str = "tandem-server.sqlite";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('seq', 0), ('schema', 1);

CREATE TABLE IF NOT EXISTS structures (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS devices (
    id           TEXT PRIMARY KEY NOT NULL,
    structure_id TEXT NOT NULL REFERENCES structures (id),
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('social', 'employment')),
    token_hash   TEXT NOT NULL UNIQUE,
    revoked      INTEGER NOT NULL DEFAULT 0,
    created_ms   INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS persons (
    id          TEXT PRIMARY KEY NOT NULL,
    created_by  TEXT NOT NULL REFERENCES structures (id),
    created_seq INTEGER NOT NULL
);

-- The person's follow-up group. granted_seq: when the structure last gained (or changed) what it
-- may see; revoked_seq: when it last lost (or changed) it. Both are commit sequence numbers.
CREATE TABLE IF NOT EXISTS follow_up (
    person_id          TEXT NOT NULL REFERENCES persons (id),
    structure_id       TEXT NOT NULL REFERENCES structures (id),
    consent            INTEGER NOT NULL,
    share_social_notes INTEGER NOT NULL,
    granted_seq        INTEGER,
    revoked_seq        INTEGER,
    PRIMARY KEY (person_id, structure_id)
);
CREATE INDEX IF NOT EXISTS follow_up_by_structure ON follow_up (structure_id, revoked_seq);

-- Which person a record belongs to: a record never moves to another person.
CREATE TABLE IF NOT EXISTS records (
    entity    TEXT NOT NULL,
    record_id TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES persons (id),
    PRIMARY KEY (entity, record_id)
);

-- The journal. seq is the commit sequence number, allocated from meta inside the writing
-- transaction; it is also the change's version.
CREATE TABLE IF NOT EXISTS changes (
    seq          INTEGER PRIMARY KEY NOT NULL,
    mutation_id  TEXT NOT NULL UNIQUE,
    entity       TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    person_id    TEXT NOT NULL,
    field        TEXT NOT NULL,
    register     TEXT NOT NULL,
    value        TEXT NOT NULL,
    base_version INTEGER,
    hlc_wall     INTEGER NOT NULL,
    hlc_counter  INTEGER NOT NULL,
    hlc_node     TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    note_id      TEXT,
    committed_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_person ON changes (person_id, seq);
CREATE INDEX IF NOT EXISTS changes_by_register ON changes (entity, record_id, register);

-- Visibility of diagnostic notes, from their add_note and set_note_visibility changes.
CREATE TABLE IF NOT EXISTS notes (
    note_id     TEXT PRIMARY KEY NOT NULL,
    social_only INTEGER NOT NULL
);

-- One row per register that has had concurrent values; closed_seq is set once resolved.
CREATE TABLE IF NOT EXISTS conflicts (
    entity      TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    register    TEXT NOT NULL,
    person_id   TEXT NOT NULL,
    winner      TEXT NOT NULL,
    losers      TEXT NOT NULL,
    updated_seq INTEGER NOT NULL,
    closed_seq  INTEGER,
    PRIMARY KEY (entity, record_id, register)
);

CREATE TABLE IF NOT EXISTS audit (
    seq       INTEGER PRIMARY KEY NOT NULL,
    at_ms     INTEGER NOT NULL,
    device_id TEXT NOT NULL,
    action    TEXT NOT NULL CHECK (action IN ('read', 'write')),
    record    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
";

/// Opens (creating if needed) the database in `data_dir`.
pub fn open(data_dir: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(data_dir.join(FILE_NAME))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;",
    )?;
    conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA} COMMIT;"))?;
    Ok(conn)
}

/// Allocates the next commit sequence number. Only ever called inside a write transaction on
/// the single writer connection, so numbers are handed out in commit order.
pub(crate) fn next_seq(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value")?
        .query_row([], |row| row.get(0))
}

pub(crate) fn head_seq(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = 'seq'")?
        .query_row([], |row| row.get(0))
}
