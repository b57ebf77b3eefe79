//! Ordered, atomic migrations. Each step runs in its own transaction together with the
//! `user_version` bump, so a file is always at exactly one known version, never half-migrated.

use rusqlite::Connection;

use crate::error::StoreError;

pub(crate) struct Migration {
    pub version: u32,
    pub sql: &'static str,
}

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: V1,
    },
    Migration {
        version: 2,
        sql: V2,
    },
    Migration {
        version: 3,
        sql: V3,
    },
    Migration {
        version: 4,
        sql: V4,
    },
    Migration {
        version: 5,
        sql: V5,
    },
    Migration {
        version: 6,
        sql: V6,
    },
];

/// The version a file has after all of [`MIGRATIONS`]; files with a higher one are refused.
pub(crate) const SCHEMA_VERSION: u32 = 6;

const V1: &str = "
CREATE TABLE profile (
    singleton          INTEGER PRIMARY KEY CHECK (singleton = 1),
    id                 TEXT NOT NULL,
    caseworker_name    TEXT NOT NULL,
    structure_name     TEXT NOT NULL,
    role               TEXT NOT NULL CHECK (role IN ('social', 'employment')),
    lock_after_minutes INTEGER NOT NULL
);

CREATE TABLE person (
    id                TEXT PRIMARY KEY NOT NULL,
    first_name        TEXT NOT NULL,
    last_name         TEXT NOT NULL,
    birth_date        TEXT,
    email             TEXT NOT NULL DEFAULT '',
    phone             TEXT NOT NULL DEFAULT '',
    address           TEXT NOT NULL DEFAULT '',
    postal_code       TEXT NOT NULL DEFAULT '',
    commune           TEXT NOT NULL DEFAULT '',
    commune_insee     TEXT NOT NULL DEFAULT '',
    caf_number        TEXT NOT NULL DEFAULT '',
    france_travail_id TEXT NOT NULL DEFAULT '',
    rsa_status        TEXT NOT NULL DEFAULT 'none'
                      CHECK (rsa_status IN ('none', 'open', 'suspended', 'closed')),
    rsa_since         TEXT,
    job_seeker        INTEGER NOT NULL DEFAULT 0,
    job_seeker_since  TEXT,
    rqth              INTEGER NOT NULL DEFAULT 0,
    rqth_until        TEXT,
    droits_devoirs    INTEGER NOT NULL DEFAULT 0,
    qpv               INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    search_key        TEXT NOT NULL,
    sort_key          TEXT NOT NULL
);

-- Covers search: the list is read in sort order and filtered on search_key without touching
-- the (larger) rows, which are then fetched only for the page shown.
CREATE INDEX person_by_sort_key ON person (sort_key, search_key);

CREATE TABLE outbox (
    mutation_id TEXT PRIMARY KEY NOT NULL,
    record_type TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    field       TEXT NOT NULL,
    value       TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
";

/// Joint diagnostics. `body` is the whole `Diagnostic` as JSON; the other columns repeat what the
/// history list shows, so listing never parses bodies. A finalised row never changes: the Rust
/// code refuses first, and the triggers refuse any write that gets past it (defence in depth).
const V2: &str = "
CREATE TABLE diagnostics (
    id                  TEXT PRIMARY KEY NOT NULL,
    person_id           TEXT NOT NULL REFERENCES person (id),
    series_id           TEXT NOT NULL,
    version             INTEGER NOT NULL CHECK (version >= 1),
    status              TEXT NOT NULL CHECK (status IN ('draft', 'finalised')),
    date                TEXT,
    caseworker_name     TEXT NOT NULL,
    co_interviewer_name TEXT NOT NULL,
    orientation         TEXT
                        CHECK (orientation IN ('professional', 'socio_professional', 'social')),
    created_at          TEXT NOT NULL,
    finalised_at        TEXT,
    body                TEXT NOT NULL,
    UNIQUE (series_id, version)
);

CREATE INDEX diagnostics_by_person ON diagnostics (person_id);

-- At most one draft per series: amending a version that already has a draft is refused.
CREATE UNIQUE INDEX diagnostics_one_draft_per_series ON diagnostics (series_id)
    WHERE status = 'draft';

CREATE TRIGGER diagnostics_finalised_no_update BEFORE UPDATE ON diagnostics
    WHEN OLD.status = 'finalised'
BEGIN
    SELECT RAISE(ABORT, 'finalised');
END;

CREATE TRIGGER diagnostics_finalised_no_delete BEFORE DELETE ON diagnostics
    WHEN OLD.status = 'finalised'
BEGIN
    SELECT RAISE(ABORT, 'finalised');
END;
";

/// Sync with the territory server (docs/sync-protocol.md).
///
/// - `outbox` rows get their register, person, base version and clock stamp at edit time, and a
///   state: `pending` (to push), `refused` (kept with the server's reason), `acked` (accepted;
///   it still protects its register until it comes back in a pull).
/// - `sync_register`: per register, what was pulled: the highest version, the heads (the
///   changes nobody superseded, as JSON, the winner first; more than one = an open conflict)
///   and which mutation's value the record shows. Superseded changes are not kept.
/// - `sync_purge`: persons being removed by sync in the current transaction. Only then may a
///   finalised diagnostic be deleted (consent withdrawn: the laptop may no longer hold it).
const V3: &str = "
ALTER TABLE outbox ADD COLUMN person_id TEXT;
ALTER TABLE outbox ADD COLUMN register TEXT;
ALTER TABLE outbox ADD COLUMN base_version INTEGER;
ALTER TABLE outbox ADD COLUMN hlc_wall INTEGER;
ALTER TABLE outbox ADD COLUMN hlc_counter INTEGER;
ALTER TABLE outbox ADD COLUMN hlc_node TEXT;
ALTER TABLE outbox ADD COLUMN state TEXT NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'refused', 'acked'));
ALTER TABLE outbox ADD COLUMN refusal TEXT;
CREATE INDEX outbox_by_register ON outbox (record_id, register);
CREATE INDEX outbox_by_person ON outbox (person_id);

CREATE TABLE sync_state (
    singleton      INTEGER PRIMARY KEY CHECK (singleton = 1),
    server_url     TEXT NOT NULL,
    device_id      TEXT NOT NULL,
    cursor         TEXT,
    last_synced_at TEXT
);

CREATE TABLE sync_clock (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    wall_ms   INTEGER NOT NULL,
    counter   INTEGER NOT NULL,
    node      TEXT NOT NULL
);

CREATE TABLE sync_register (
    record_id  TEXT NOT NULL,
    register   TEXT NOT NULL,
    person_id  TEXT NOT NULL,
    entity     TEXT NOT NULL,
    version    INTEGER NOT NULL,
    shown      TEXT,
    head_count INTEGER NOT NULL,
    heads      TEXT NOT NULL,
    PRIMARY KEY (record_id, register)
) WITHOUT ROWID;

CREATE INDEX sync_register_by_person ON sync_register (person_id);
CREATE INDEX sync_register_conflicts ON sync_register (person_id) WHERE head_count > 1;

CREATE TABLE sync_purge (person_id TEXT PRIMARY KEY NOT NULL);

DROP TRIGGER diagnostics_finalised_no_delete;
CREATE TRIGGER diagnostics_finalised_no_delete BEFORE DELETE ON diagnostics
    WHEN OLD.status = 'finalised'
     AND NOT EXISTS (SELECT 1 FROM sync_purge WHERE person_id = OLD.person_id)
BEGIN
    SELECT RAISE(ABORT, 'finalised');
END;
";

/// Follow-up (issue 6).
///
/// - `followup`: one file per person, the whole `FollowUp` as JSON in `body`. `referent` repeats
///   the current referent's name (latest `ReferentChanged`), so the caseload's status review
///   selects its persons without parsing every body.
/// - `review_meetings`: review-group meetings, whole (`body` is the `ReviewMeeting`). They span
///   several persons, so they sync through the person's files (agenda entries and decisions),
///   from which a pull rebuilds them.
const V4: &str = "
CREATE TABLE followup (
    person_id  TEXT PRIMARY KEY NOT NULL REFERENCES person (id),
    referent   TEXT,
    updated_at TEXT NOT NULL,
    body       TEXT NOT NULL
);

CREATE INDEX followup_by_referent ON followup (referent);

CREATE TABLE review_meetings (
    id   TEXT PRIMARY KEY NOT NULL,
    date TEXT NOT NULL,
    body TEXT NOT NULL
);

CREATE INDEX review_meetings_by_date ON review_meetings (date);
";

/// Names of the other authors of conflicting values (issue 5's conflicts screen).
///
/// - `sync_authors`: per device seen in a conflict, the caseworker it acts for (or the device's
///   own name) and the structure, as the territory server gives them (`GET /v1/authors`).
const V5: &str = "
CREATE TABLE sync_authors (
    device_id TEXT PRIMARY KEY NOT NULL,
    name      TEXT NOT NULL,
    structure TEXT NOT NULL
);
";

/// One row of sync registers per record instead of one per register (issue 5: a first sync
/// wrote about 33 rows per person, two thirds of the file).
///
/// - `sync_record`: per record (a person, a diagnostic, a follow-up file; a person and their
///   file share an id, so the key is the id and the entity), its registers as a
///   JSON object by register key: `v` the highest version pulled, `h` the heads (winner first,
///   the compact form of `registers.rs`), `w` when the record shows the winner, else `s` the
///   change it shows. `conflicts` counts its registers with more than one head.
///   The rows of `sync_register` move over as they are (their heads keep the form they had).
const V6: &str = "
CREATE TABLE sync_record (
    record_id TEXT NOT NULL,
    entity    TEXT NOT NULL,
    person_id TEXT NOT NULL,
    conflicts INTEGER NOT NULL,
    registers TEXT NOT NULL,
    PRIMARY KEY (record_id, entity)
) WITHOUT ROWID;

CREATE INDEX sync_record_by_person ON sync_record (person_id);
CREATE INDEX sync_record_conflicts ON sync_record (person_id) WHERE conflicts > 0;

INSERT INTO sync_record (record_id, person_id, entity, conflicts, registers)
SELECT record_id, min(person_id), entity, sum(head_count > 1),
       json_group_object(register, json_object('v', version, 's', shown, 'h', json(heads)))
FROM sync_register
GROUP BY record_id, entity;

DROP TABLE sync_register;
";

pub(crate) fn user_version(conn: &Connection) -> Result<u32, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

/// Applies every migration above the file's version, each atomically with its version bump.
pub(crate) fn migrate(conn: &mut Connection, migrations: &[Migration]) -> Result<(), StoreError> {
    let found = user_version(conn)?;
    let mut current = found;
    for migration in migrations.iter().filter(|m| m.version > found) {
        debug_assert!(
            migration.version == current + 1,
            "migrations must be consecutive"
        );
        let tx = conn.transaction()?;
        tx.execute_batch(migration.sql)?;
        tx.pragma_update(None, "user_version", migration.version)?;
        tx.commit()?;
        log::info!(
            "case file migrated from schema {current} to {}",
            migration.version
        );
        current = migration.version;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_and_end_at_schema_version() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
    }

    #[test]
    fn a_failing_migration_leaves_the_previous_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("case.db");
        let mut conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL").unwrap();
        migrate(&mut conn, MIGRATIONS).unwrap();
        let next = SCHEMA_VERSION + 1;
        let broken = [
            Migration {
                version: next,
                sql: "CREATE TABLE added (x INTEGER);",
            },
            Migration {
                version: next + 1,
                sql: "CREATE TABLE half (x INTEGER); SELECT * FROM missing;",
            },
        ];
        let all: Vec<Migration> = MIGRATIONS
            .iter()
            .map(|m| Migration {
                version: m.version,
                sql: m.sql,
            })
            .chain(broken)
            .collect();
        assert!(migrate(&mut conn, &all).is_err());
        drop(conn);

        let conn = Connection::open(&path).unwrap();
        assert_eq!(
            user_version(&conn).unwrap(),
            next,
            "step {next} committed, step {} rolled back",
            next + 1
        );
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(tables.contains(&"added".to_string()));
        assert!(!tables.contains(&"half".to_string()), "{tables:?}");
    }
}
