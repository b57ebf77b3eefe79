//! The server's storage backends: embedded SQLite (the default: one file in the data folder, zero
//! set-up) and PostgreSQL (`--database-url`, for production and scale).
//!
//! Everything above this module speaks one small SQL dialect that both engines accept: `?N`
//! placeholders (rewritten to `$N` for PostgreSQL), integers for booleans (`= 1`), `CASE` rather
//! than the scalar `max()`, and `CAST(?N AS BIGINT)` wherever PostgreSQL could not infer a
//! parameter's type. Parameters and results travel as [`Value`]s; the PostgreSQL side converts
//! each one to the type the server inferred for it. So the access rules, the merge and the audit
//! chain are written once; only the schema and the transaction opening differ per engine.
//!
//! **Writers are serialised** on both engines, because the commit sequence (the pull cursor's
//! basis, see `docs/sync-protocol.md` §6) is allocated inside the writing transaction and must
//! be committed in the order it is handed out: SQLite admits one write transaction at a time
//! (`BEGIN IMMEDIATE`); on PostgreSQL every write transaction first takes a transaction-scoped
//! advisory lock (`pg_advisory_xact_lock`), held until commit, so even several server processes
//! on one database commit sequence numbers in order. A PostgreSQL `SEQUENCE` would not do:
//! `nextval()` is not transactional, so T1 can take 10, T2 take 11 and commit first; a pull in
//! between would move its cursor past 10 and never deliver T1's change.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use postgres::types::{ToSql, Type};
use uuid::Uuid;

pub(crate) const FILE_NAME: &str = "tandem-server.sqlite";

/// The schema version this build writes (`meta.schema`).
const SCHEMA_VERSION: i64 = 2;
/// Cached prepared statements per SQLite connection (rusqlite's default is 16).
const STATEMENT_CACHE: usize = 128;
/// Bytes of the database file that each SQLite reader connection reads through a memory map
/// (SQLite's own ceiling is 2 GiB). A reader drops its whole page cache whenever another
/// connection has committed since its last read, so under load the readers read most pages
/// again: each a `pread` copy without the map, read in place from the OS cache that all
/// connections share with it. 500 laptops, alternated four times: server CPU for the burst
/// 1,120–1,430 ms against 1,180–1,510, p95 474–667 ms against 465–734 (medians 535 against
/// 655). Dropping the cache also unmaps the file, so a reader still pays page faults after
/// every commit: pulls near the head are read by the writer (`http.rs`, `WRITER_PULL_SPAN`).
const MMAP_SIZE: i64 = 1 << 31;
/// The writing connection's page cache, in KiB (`PRAGMA cache_size = -N`; SQLite's default is
/// 2 MiB), filled as pages are read. The writer makes every commit, so its cache is never
/// dropped: it keeps the pages of the journal's head, the indexes pushes probe and the pulls
/// near the head that it reads, parsed, where a memory map hands out each page anew on every
/// read (`btreeInitPage` was 16 % of the writer's time in the 500-laptop burst with the map).
const WRITER_CACHE_KIB: i64 = 128 * 1024;

const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('seq', 0), ('schema', 2);

CREATE TABLE IF NOT EXISTS structures (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

-- A caseworker's account: the person a device acts for. Enrolment codes name one.
CREATE TABLE IF NOT EXISTS caseworkers (
    id           TEXT PRIMARY KEY NOT NULL,
    structure_id TEXT NOT NULL REFERENCES structures (id),
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('social', 'employment')),
    created_ms   INTEGER NOT NULL
);

-- caseworker_id is NULL only for devices registered with `admin device add`.
CREATE TABLE IF NOT EXISTS devices (
    id            TEXT PRIMARY KEY NOT NULL,
    structure_id  TEXT NOT NULL REFERENCES structures (id),
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('social', 'employment')),
    token_hash    TEXT NOT NULL UNIQUE,
    revoked       INTEGER NOT NULL DEFAULT 0,
    created_ms    INTEGER NOT NULL,
    caseworker_id TEXT REFERENCES caseworkers (id)
);

-- One-time enrolment codes: only the SHA-256 of the code is kept.
CREATE TABLE IF NOT EXISTS enrolment_codes (
    code_hash     TEXT PRIMARY KEY NOT NULL,
    caseworker_id TEXT NOT NULL REFERENCES caseworkers (id),
    created_ms    INTEGER NOT NULL,
    expires_ms    INTEGER NOT NULL,
    used_ms       INTEGER,
    device_id     TEXT
);

-- deleted_seq: the commit sequence of the person's tombstone; erased_seq: of its erasure. The
-- row (a random id, no personal data) stays so that later changes of the person are refused.
CREATE TABLE IF NOT EXISTS persons (
    id          TEXT PRIMARY KEY NOT NULL,
    created_by  TEXT NOT NULL REFERENCES structures (id),
    created_seq INTEGER NOT NULL,
    deleted_seq INTEGER,
    erased_seq  INTEGER
);

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
-- A pull reads the persons granted since its cursor (their whole journal) through this.
CREATE INDEX IF NOT EXISTS follow_up_granted ON follow_up (structure_id, granted_seq);
-- A snapshot page reads the structure's persons in id order from where the last one stopped;
-- a pull probes the journal for each of them. Covering: the page's conditions are read from
-- the index, not from one table row per person (a burst pull: 0.31 → 0.25 ms in SQLite).
DROP INDEX IF EXISTS follow_up_scope;
CREATE INDEX IF NOT EXISTS follow_up_scope_covering
    ON follow_up (structure_id, person_id, consent, granted_seq, share_social_notes);

-- After an erasure, which structures must still be told to remove the person, and from when.
CREATE TABLE IF NOT EXISTS erasures (
    person_id    TEXT NOT NULL,
    structure_id TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    PRIMARY KEY (person_id, structure_id)
);
CREATE INDEX IF NOT EXISTS erasures_by_structure ON erasures (structure_id, seq);

CREATE TABLE IF NOT EXISTS records (
    entity    TEXT NOT NULL,
    record_id TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES persons (id),
    PRIMARY KEY (entity, record_id)
);

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

CREATE TABLE IF NOT EXISTS notes (
    note_id     TEXT PRIMARY KEY NOT NULL,
    social_only INTEGER NOT NULL
);

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

/// Schema 1 (before caseworker accounts and tombstones) to 2. Runs before [`SQLITE_SCHEMA`], so
/// the `IF NOT EXISTS` statements then find the columns in place.
const SQLITE_MIGRATE_1_TO_2: &str = "
ALTER TABLE devices ADD COLUMN caseworker_id TEXT REFERENCES caseworkers (id);
ALTER TABLE persons ADD COLUMN deleted_seq INTEGER;
ALTER TABLE persons ADD COLUMN erased_seq INTEGER;
UPDATE meta SET value = 2 WHERE key = 'schema';
";

const POSTGRES_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('seq', 0), ('schema', 2) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS structures (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS caseworkers (
    id           TEXT PRIMARY KEY,
    structure_id TEXT NOT NULL REFERENCES structures (id),
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('social', 'employment')),
    created_ms   BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS devices (
    id            TEXT PRIMARY KEY,
    structure_id  TEXT NOT NULL REFERENCES structures (id),
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('social', 'employment')),
    token_hash    TEXT NOT NULL UNIQUE,
    revoked       BIGINT NOT NULL DEFAULT 0,
    created_ms    BIGINT NOT NULL,
    caseworker_id TEXT REFERENCES caseworkers (id)
);

CREATE TABLE IF NOT EXISTS enrolment_codes (
    code_hash     TEXT PRIMARY KEY,
    caseworker_id TEXT NOT NULL REFERENCES caseworkers (id),
    created_ms    BIGINT NOT NULL,
    expires_ms    BIGINT NOT NULL,
    used_ms       BIGINT,
    device_id     TEXT
);

CREATE TABLE IF NOT EXISTS persons (
    id          TEXT PRIMARY KEY,
    created_by  TEXT NOT NULL REFERENCES structures (id),
    created_seq BIGINT NOT NULL,
    deleted_seq BIGINT,
    erased_seq  BIGINT
);

CREATE TABLE IF NOT EXISTS follow_up (
    person_id          TEXT NOT NULL REFERENCES persons (id),
    structure_id       TEXT NOT NULL REFERENCES structures (id),
    consent            BIGINT NOT NULL,
    share_social_notes BIGINT NOT NULL,
    granted_seq        BIGINT,
    revoked_seq        BIGINT,
    PRIMARY KEY (person_id, structure_id)
);
CREATE INDEX IF NOT EXISTS follow_up_by_structure ON follow_up (structure_id, revoked_seq);
-- A pull reads the persons granted since its cursor (their whole journal) through this.
CREATE INDEX IF NOT EXISTS follow_up_granted ON follow_up (structure_id, granted_seq);
-- A snapshot page reads the structure's persons in id order from where the last one stopped;
-- a pull probes the journal for each of them (covering: no heap row per person).
DROP INDEX IF EXISTS follow_up_scope;
CREATE INDEX IF NOT EXISTS follow_up_scope_covering
    ON follow_up (structure_id, person_id) INCLUDE (consent, granted_seq, share_social_notes);

CREATE TABLE IF NOT EXISTS erasures (
    person_id    TEXT NOT NULL,
    structure_id TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    PRIMARY KEY (person_id, structure_id)
);
CREATE INDEX IF NOT EXISTS erasures_by_structure ON erasures (structure_id, seq);

CREATE TABLE IF NOT EXISTS records (
    entity    TEXT NOT NULL,
    record_id TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES persons (id),
    PRIMARY KEY (entity, record_id)
);

CREATE TABLE IF NOT EXISTS changes (
    seq          BIGINT PRIMARY KEY,
    mutation_id  TEXT NOT NULL UNIQUE,
    entity       TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    person_id    TEXT NOT NULL,
    field        TEXT NOT NULL,
    register     TEXT NOT NULL,
    value        TEXT NOT NULL,
    base_version BIGINT,
    hlc_wall     BIGINT NOT NULL,
    hlc_counter  BIGINT NOT NULL,
    hlc_node     TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    note_id      TEXT,
    committed_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_person ON changes (person_id, seq);
CREATE INDEX IF NOT EXISTS changes_by_register ON changes (entity, record_id, register);

CREATE TABLE IF NOT EXISTS notes (
    note_id     TEXT PRIMARY KEY,
    social_only BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS conflicts (
    entity      TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    register    TEXT NOT NULL,
    person_id   TEXT NOT NULL,
    winner      TEXT NOT NULL,
    losers      TEXT NOT NULL,
    updated_seq BIGINT NOT NULL,
    closed_seq  BIGINT,
    PRIMARY KEY (entity, record_id, register)
);

CREATE TABLE IF NOT EXISTS audit (
    seq       BIGINT PRIMARY KEY,
    at_ms     BIGINT NOT NULL,
    device_id TEXT NOT NULL,
    action    TEXT NOT NULL CHECK (action IN ('read', 'write')),
    record    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE OR REPLACE TRIGGER audit_no_update BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE OR REPLACE TRIGGER audit_no_delete BEFORE DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
";

/// Serialises writers on PostgreSQL, per schema (a territory's database, or a test's schema).
const POSTGRES_WRITER_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('tandem-writer:' || current_schema()))";

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {}", postgres_message(.0))]
    Postgres(#[from] postgres::Error),
    /// A value of a type the code did not expect. Names types only, never values.
    #[error("type mismatch: {0}")]
    Type(String),
    #[error("the database has schema version {0}, newer than this server's")]
    NewerSchema(i64),
}

/// The server's own message ("too many clients already", "relation … does not exist") rather
/// than the client's bare "db error". Never the detail line, which may quote row values.
fn postgres_message(e: &postgres::Error) -> String {
    match (e.as_db_error(), std::error::Error::source(e)) {
        (Some(db), _) => format!("{e}: {} ({})", db.message(), db.code().code()),
        (None, Some(cause)) => format!("{e}: {cause}"),
        (None, None) => e.to_string(),
    }
}

/// Where the server keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The embedded SQLite database in this data folder.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by connection URL (`postgres://user@host:port/db?options=…`).
    Postgres(String),
}

/// A parameter or a result column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Value {
    #[default]
    Null,
    Int(i64),
    Text(String),
    /// Only ever read (PostgreSQL's `EXISTS`, comparisons); parameters use `Int` 0/1.
    Bool(bool),
    /// A parameter only: a PostgreSQL array (`?1::text[]`, `?2::bigint[]`), for statements
    /// that take many rows at once (`unnest`). SQLite gets it as a JSON array (`json_each`).
    List(Vec<Value>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(v.into())
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(v.into())
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}

impl From<Uuid> for Value {
    fn from(v: Uuid) -> Self {
        Value::Text(v.to_string())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Builds a parameter list: `args![a, b]` is `&[Value::from(a), Value::from(b)]`.
#[macro_export]
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::db::Value::from($value)),*][..]
    };
}

/// One result row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn at(&self, i: usize) -> Result<&Value, DbError> {
        self.0
            .get(i)
            .ok_or_else(|| DbError::Type(format!("no column {i}")))
    }

    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, DbError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Int(v) => Ok(Some(*v)),
            Value::Bool(b) => Ok(Some((*b).into())),
            Value::Text(_) => Err(DbError::Type(format!("column {i}: text, not integer"))),
            Value::List(_) => Err(DbError::Type(format!("column {i}: list, not integer"))),
        }
    }

    pub fn int(&self, i: usize) -> Result<i64, DbError> {
        self.opt_int(i)?
            .ok_or_else(|| DbError::Type(format!("column {i}: null, not integer")))
    }

    pub fn bool(&self, i: usize) -> Result<bool, DbError> {
        Ok(self.int(i)? != 0)
    }

    /// A text column, borrowed: parsing it (ids, JSON values) needs no copy.
    pub fn opt_str(&self, i: usize) -> Result<Option<&str>, DbError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s)),
            _ => Err(DbError::Type(format!("column {i}: not text"))),
        }
    }

    pub fn str(&self, i: usize) -> Result<&str, DbError> {
        self.opt_str(i)?
            .ok_or_else(|| DbError::Type(format!("column {i}: null, not text")))
    }

    pub fn opt_text(&self, i: usize) -> Result<Option<String>, DbError> {
        Ok(self.opt_str(i)?.map(str::to_string))
    }

    pub fn text(&self, i: usize) -> Result<String, DbError> {
        Ok(self.str(i)?.to_string())
    }

    pub fn uuid(&self, i: usize) -> Result<Uuid, DbError> {
        parse_uuid(i, self.str(i)?)
    }

    pub fn opt_uuid(&self, i: usize) -> Result<Option<Uuid>, DbError> {
        self.opt_str(i)?.map(|raw| parse_uuid(i, raw)).transpose()
    }
}

fn parse_uuid(i: usize, raw: &str) -> Result<Uuid, DbError> {
    Uuid::parse_str(raw).map_err(|e| DbError::Type(format!("column {i}: not a uuid: {e}")))
}

/// An open connection to one of the two engines.
pub enum Db {
    Sqlite(rusqlite::Connection),
    Postgres(Box<Pg>),
}

/// A PostgreSQL connection with its prepared statements.
pub struct Pg {
    /// Always `Some` until dropped (see the `Drop` impl).
    client: Option<postgres::Client>,
    statements: HashMap<String, postgres::Statement>,
    /// To reconnect after the connection was lost (database restarted, network cut).
    config: postgres::Config,
    in_transaction: bool,
}

impl Drop for Pg {
    /// The synchronous client closes its connection by blocking on its own small runtime, which
    /// panics on a thread that is driving an async runtime (the server's or a test's). Dropping
    /// it on a plain thread of its own is always allowed.
    fn drop(&mut self) {
        self.statements.clear();
        if let Some(client) = self.client.take() {
            let _ = std::thread::spawn(move || drop(client)).join();
        }
    }
}

impl Pg {
    fn client(&mut self) -> &mut postgres::Client {
        self.client.as_mut().expect("client present until drop")
    }

    /// A lost connection is replaced before the next statement, unless it was lost in the
    /// middle of a transaction: that one fails (and rolls back on the server) as it should.
    fn reconnect_if_lost(&mut self) -> Result<(), DbError> {
        if self.in_transaction || !self.client().is_closed() {
            return Ok(());
        }
        log::warn!("PostgreSQL connection lost: reconnecting");
        self.statements.clear();
        let fresh = self.config.connect(postgres::NoTls)?;
        if let Some(old) = self.client.replace(fresh) {
            let _ = std::thread::spawn(move || drop(old)).join();
        }
        Ok(())
    }

    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, DbError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client().prepare(&dollar_placeholders(sql))?;
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

/// `?1` → `$1`: the shared dialect's placeholders in PostgreSQL's spelling.
fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

fn is_text(ty: &Type) -> bool {
    [
        Type::TEXT,
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::UNKNOWN,
    ]
    .contains(ty)
}

/// Converts a parameter to the type PostgreSQL inferred for it.
fn pg_param(value: &Value, ty: &Type) -> Result<Box<dyn ToSql + Sync>, DbError> {
    let mismatch = |what: &str| DbError::Type(format!("cannot send {what} as {ty}"));
    let narrow = |v: i64| i32::try_from(v).map_err(|_| mismatch("a large integer"));
    Ok(match value {
        Value::Null if *ty == Type::INT8 => Box::new(None::<i64>),
        Value::Null if *ty == Type::INT4 => Box::new(None::<i32>),
        Value::Null if *ty == Type::BOOL => Box::new(None::<bool>),
        Value::Null if is_text(ty) => Box::new(None::<String>),
        Value::Null => return Err(mismatch("null")),
        Value::Int(v) if *ty == Type::INT8 => Box::new(*v),
        Value::Int(v) if *ty == Type::INT4 => Box::new(narrow(*v)?),
        Value::Int(v) if *ty == Type::BOOL => Box::new(*v != 0),
        Value::Int(v) if is_text(ty) => Box::new(v.to_string()),
        Value::Int(_) => return Err(mismatch("an integer")),
        Value::Bool(b) if *ty == Type::BOOL => Box::new(*b),
        Value::Bool(b) if *ty == Type::INT8 => Box::new(i64::from(*b)),
        Value::Bool(_) => return Err(mismatch("a boolean")),
        Value::Text(s) if is_text(ty) => Box::new(s.clone()),
        Value::Text(_) => return Err(mismatch("text")),
        Value::List(items) if *ty == Type::TEXT_ARRAY => Box::new(
            items
                .iter()
                .map(|item| match item {
                    Value::Null => Ok(None),
                    Value::Text(s) => Ok(Some(s.clone())),
                    Value::Int(v) => Ok(Some(v.to_string())),
                    _ => Err(mismatch("a list item")),
                })
                .collect::<Result<Vec<Option<String>>, _>>()?,
        ),
        Value::List(items) if *ty == Type::INT8_ARRAY => Box::new(
            items
                .iter()
                .map(|item| match item {
                    Value::Null => Ok(None),
                    Value::Int(v) => Ok(Some(*v)),
                    Value::Bool(b) => Ok(Some(i64::from(*b))),
                    _ => Err(mismatch("a list item")),
                })
                .collect::<Result<Vec<Option<i64>>, _>>()?,
        ),
        Value::List(_) => return Err(mismatch("a list")),
    })
}

fn pg_row(row: &postgres::Row) -> Result<Row, DbError> {
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Value::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?.map(Value::Bool)
        } else if is_text(ty) {
            row.try_get::<_, Option<String>>(i)?.map(Value::Text)
        } else {
            return Err(DbError::Type(format!("column {i}: unsupported type {ty}")));
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

fn sqlite_param(value: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match value {
        Value::Null => V::Null,
        Value::Int(v) => V::Integer(*v),
        Value::Bool(b) => V::Integer((*b).into()),
        Value::Text(s) => V::Text(s.clone()),
        Value::List(items) => V::Text(json_list(items)),
    }
}

/// A list parameter as a JSON array, for SQLite.
fn json_list(items: &[Value]) -> String {
    fn json(item: &Value) -> serde_json::Value {
        match item {
            Value::Null => serde_json::Value::Null,
            Value::Int(v) => (*v).into(),
            Value::Bool(b) => (*b).into(),
            Value::Text(s) => s.as_str().into(),
            Value::List(inner) => inner.iter().map(json).collect(),
        }
    }
    serde_json::Value::Array(items.iter().map(json).collect()).to_string()
}

fn sqlite_rows(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Row>, DbError> {
    use rusqlite::types::ValueRef;
    let mut stmt = conn.prepare_cached(sql)?;
    let columns = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter().map(sqlite_param)))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns);
        for i in 0..columns {
            values.push(match row.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(v) => Value::Int(v),
                ValueRef::Text(bytes) => Value::Text(
                    std::str::from_utf8(bytes)
                        .map_err(|_| DbError::Type(format!("column {i}: text is not UTF-8")))?
                        .to_string(),
                ),
                ValueRef::Real(_) | ValueRef::Blob(_) => {
                    return Err(DbError::Type(format!("column {i}: unsupported type")))
                }
            });
        }
        out.push(Row(values));
    }
    Ok(out)
}

/// SQLite's query planner stability guarantee: a statement's plan never depends on the values
/// bound to it. Without it SQLite re-prepares a cached statement on every run whose `LIMIT` is
/// a parameter (rebinding it expires the statement; rusqlite clears the bindings of a cached
/// statement): a pull's page statement was parsed and planned again each time, 5.7 % of the
/// writer's time in the 500-laptop burst. The store picks its plans in the SQL text
/// (`CROSS JOIN`, two statements instead of an `OR`), never through bound values, and the
/// server runs no `ANALYZE`, so no plan changes.
fn stable_plans(conn: &rusqlite::Connection) -> Result<(), DbError> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

impl Db {
    /// Opens (creating or upgrading the schema if needed) the database at `target`.
    pub fn open(target: &Target) -> Result<Db, DbError> {
        match target {
            Target::Sqlite(dir) => Db::open_sqlite(dir),
            Target::Postgres(url) => Db::open_postgres(url),
        }
    }

    fn open_sqlite(data_dir: &Path) -> Result<Db, DbError> {
        let conn = rusqlite::Connection::open(data_dir.join(FILE_NAME))?;
        // The wait comes first, so that every statement below waits too. SQLite's busy handler
        // polls and is not fair: a connection can wait through many commits of a busy writer
        // (an admin command beside a loaded server) before it gets its turn, hence the long wait.
        conn.execute_batch(
            "PRAGMA busy_timeout = 30000;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;",
        )?;
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        stable_plans(&conn)?;
        // A push runs about twenty distinct statements, more than rusqlite's default cache
        // of 16: past that, each evicted statement is parsed and planned again.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = (|| -> Result<(), DbError> {
            let has_meta: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'meta')",
                [],
                |row| row.get(0),
            )?;
            if has_meta {
                let version: i64 =
                    conn.query_row("SELECT value FROM meta WHERE key = 'schema'", [], |row| {
                        row.get(0)
                    })?;
                if version > SCHEMA_VERSION {
                    return Err(DbError::NewerSchema(version));
                }
                if version == 1 {
                    // SQLite checks a new column's REFERENCES lazily: the caseworkers table
                    // may come after, with the schema below.
                    conn.execute_batch(SQLITE_MIGRATE_1_TO_2)?;
                }
            }
            conn.execute_batch(SQLITE_SCHEMA)?;
            Ok(())
        })();
        match result {
            Ok(()) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
        Ok(Db::Sqlite(conn))
    }

    /// A second connection for reads only (pulls, listings, authentication), next to the
    /// writer: the schema must already exist (the writer's [`Db::open`] made it). SQLite:
    /// `query_only`, reading in WAL mode beside the writer; PostgreSQL: a plain connection whose
    /// transactions are read-only snapshots ([`Db::read_tx`]).
    pub fn open_reader(target: &Target) -> Result<Db, DbError> {
        match target {
            Target::Sqlite(dir) => {
                let conn = rusqlite::Connection::open(dir.join(FILE_NAME))?;
                conn.execute_batch(
                    "PRAGMA busy_timeout = 5000;
                     PRAGMA query_only = ON;
                     PRAGMA foreign_keys = ON;",
                )?;
                conn.pragma_update(None, "mmap_size", MMAP_SIZE)?;
                stable_plans(&conn)?;
                conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
                Ok(Db::Sqlite(conn))
            }
            Target::Postgres(url) => {
                let mut config: postgres::Config = url.parse()?;
                config.notice_callback(|_| {});
                // The pull's page query is prepared once per connection; a generic plan (which
                // PostgreSQL switches to after five runs) cannot see that the cursor is near the
                // head and scans the structure's whole history. Planning each run costs less.
                let options = match config.get_options() {
                    Some(given) => format!("{given} -cplan_cache_mode=force_custom_plan"),
                    None => "-cplan_cache_mode=force_custom_plan".to_string(),
                };
                config.options(&options);
                let client = config.connect(postgres::NoTls)?;
                Ok(Db::Postgres(Box::new(Pg {
                    client: Some(client),
                    statements: HashMap::new(),
                    config,
                    in_transaction: false,
                })))
            }
        }
    }

    fn open_postgres(url: &str) -> Result<Db, DbError> {
        let mut config: postgres::Config = url.parse()?;
        // Notices ("relation … already exists, skipping") are not worth a log line.
        config.notice_callback(|_| {});
        let client = config.connect(postgres::NoTls)?;
        let mut db = Db::Postgres(Box::new(Pg {
            client: Some(client),
            statements: HashMap::new(),
            config,
            in_transaction: false,
        }));
        db.create_postgres_schema()?;
        Ok(db)
    }

    fn create_postgres_schema(&mut self) -> Result<(), DbError> {
        let mut tx = self.write_tx()?;
        let has_meta = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM information_schema.tables
                                WHERE table_schema = current_schema() AND table_name = 'meta')",
                &[],
            )?
            .bool(0)?;
        if has_meta {
            let version = tx
                .query_one("SELECT value FROM meta WHERE key = 'schema'", &[])?
                .int(0)?;
            if version > SCHEMA_VERSION {
                return Err(DbError::NewerSchema(version));
            }
        }
        tx.batch(POSTGRES_SCHEMA)?;
        tx.commit()
    }

    /// Runs several statements (no parameters, no results).
    pub fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        match self {
            Db::Sqlite(conn) => conn.execute_batch(sql)?,
            Db::Postgres(pg) => {
                pg.reconnect_if_lost()?;
                pg.client().batch_execute(sql)?
            }
        }
        Ok(())
    }

    /// Runs one statement; returns how many rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        match self {
            Db::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql)?;
                let n =
                    stmt.execute(rusqlite::params_from_iter(params.iter().map(sqlite_param)))?;
                Ok(n as u64)
            }
            Db::Postgres(pg) => {
                pg.reconnect_if_lost()?;
                let statement = pg.statement(sql)?;
                let boxed = pg_params(&statement, params)?;
                let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| b.as_ref()).collect();
                Ok(pg.client().execute(&statement, &refs)?)
            }
        }
    }

    /// Runs one query and returns every row.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        match self {
            Db::Sqlite(conn) => sqlite_rows(conn, sql, params),
            Db::Postgres(pg) => {
                pg.reconnect_if_lost()?;
                let statement = pg.statement(sql)?;
                let boxed = pg_params(&statement, params)?;
                let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| b.as_ref()).collect();
                pg.client()
                    .query(&statement, &refs)?
                    .iter()
                    .map(pg_row)
                    .collect()
            }
        }
    }

    /// PostgreSQL only: `COPY … FROM STDIN (FORMAT binary)` (`sql`), with each row's values in
    /// the given column types. PostgreSQL fills heap pages with many rows at a time (one WAL
    /// record per page, not per row), the fastest way in for many rows.
    pub fn copy_in(
        &mut self,
        sql: &str,
        types: &[Type],
        rows: Vec<Vec<Value>>,
    ) -> Result<u64, DbError> {
        let Db::Postgres(pg) = self else {
            return Err(DbError::Type("COPY is PostgreSQL's".into()));
        };
        pg.reconnect_if_lost()?;
        let writer = pg.client().copy_in(sql)?;
        let mut writer = postgres::binary_copy::BinaryCopyInWriter::new(writer, types);
        for row in rows {
            let boxed = (row.iter().zip(types))
                .map(|(value, ty)| pg_param(value, ty))
                .collect::<Result<Vec<_>, _>>()?;
            let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| b.as_ref()).collect();
            writer.write(&refs)?;
        }
        Ok(writer.finish()?)
    }

    /// The first row, if any.
    pub fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The first row; an error if there is none.
    pub fn query_one(&mut self, sql: &str, params: &[Value]) -> Result<Row, DbError> {
        self.query_opt(sql, params)?
            .ok_or_else(|| DbError::Type("expected a row, got none".into()))
    }

    /// Opens a write transaction, serialised with every other writer (see the module doc). It
    /// rolls back when dropped without [`Tx::commit`].
    pub fn write_tx(&mut self) -> Result<Tx<'_>, DbError> {
        match self {
            Db::Sqlite(conn) => conn.execute_batch("BEGIN IMMEDIATE")?,
            Db::Postgres(pg) => {
                pg.reconnect_if_lost()?;
                pg.client().batch_execute("BEGIN")?;
                if let Err(e) = pg.client().execute(POSTGRES_WRITER_LOCK, &[]) {
                    let _ = pg.client().batch_execute("ROLLBACK");
                    return Err(e.into());
                }
                pg.in_transaction = true;
            }
        }
        Ok(Tx {
            db: self,
            open: true,
        })
    }

    /// Opens a read transaction: one consistent snapshot of committed data for every statement
    /// in it, taken without the writer lock. Since writers commit sequence numbers in the order
    /// they hand them out, a snapshot that sees `seq = n` sees every `seq < n`: a pull made in
    /// one never moves a cursor past a change committed later. SQLite: a deferred transaction
    /// (the WAL snapshot starts at its first read); PostgreSQL: `REPEATABLE READ READ ONLY`
    /// (one snapshot for the whole transaction, where the default `READ COMMITTED` would take
    /// one per statement). Ends with [`Tx::commit`] or, dropped, a rollback.
    pub fn read_tx(&mut self) -> Result<Tx<'_>, DbError> {
        match self {
            Db::Sqlite(conn) => conn.execute_batch("BEGIN DEFERRED")?,
            Db::Postgres(pg) => {
                pg.reconnect_if_lost()?;
                pg.client()
                    .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
                pg.in_transaction = true;
            }
        }
        Ok(Tx {
            db: self,
            open: true,
        })
    }

    fn end_transaction(&mut self, sql: &str) -> Result<(), DbError> {
        let result = self.batch(sql);
        if let Db::Postgres(pg) = self {
            pg.in_transaction = false;
        }
        result
    }

    /// Which engine this is, for messages.
    pub fn engine(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "SQLite",
            Db::Postgres(_) => "PostgreSQL",
        }
    }
}

fn pg_params(
    statement: &postgres::Statement,
    params: &[Value],
) -> Result<Vec<Box<dyn ToSql + Sync>>, DbError> {
    if statement.params().len() != params.len() {
        return Err(DbError::Type(format!(
            "{} parameters for {} placeholders",
            params.len(),
            statement.params().len()
        )));
    }
    statement
        .params()
        .iter()
        .zip(params)
        .map(|(ty, value)| pg_param(value, ty))
        .collect()
}

/// A write transaction; derefs to the connection.
pub struct Tx<'a> {
    db: &'a mut Db,
    open: bool,
}

impl Tx<'_> {
    pub fn commit(mut self) -> Result<(), DbError> {
        self.open = false;
        self.db.end_transaction("COMMIT")
    }
}

impl Tx<'_> {
    /// Runs `f` inside a savepoint: what it wrote stays if it returns `Ok`, and is undone, with
    /// the rest of the transaction kept, if it returns `Err`. Group commit applies each push
    /// batch this way, so every batch stays all-or-nothing inside the shared transaction.
    pub fn savepoint<T, E: From<DbError>>(
        &mut self,
        f: impl FnOnce(&mut Db) -> Result<T, E>,
    ) -> Result<Result<T, E>, DbError> {
        self.db.batch("SAVEPOINT batch")?;
        match f(self.db) {
            Ok(value) => {
                self.db.batch("RELEASE SAVEPOINT batch")?;
                Ok(Ok(value))
            }
            Err(e) => {
                self.db
                    .batch("ROLLBACK TO SAVEPOINT batch; RELEASE SAVEPOINT batch")?;
                Ok(Err(e))
            }
        }
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Db;
    fn deref(&self) -> &Db {
        self.db
    }
}

impl std::ops::DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut Db {
        self.db
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.db.end_transaction("ROLLBACK");
        }
    }
}

/// Allocates the next commit sequence number. Only ever called inside a write transaction,
/// which writers take one at a time, so numbers are committed in the order they are handed out.
pub(crate) fn next_seq(db: &mut Db) -> Result<i64, DbError> {
    db.query_one(
        "UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value",
        &[],
    )?
    .int(0)
}

pub(crate) fn head_seq(db: &mut Db) -> Result<i64, DbError> {
    db.query_one("SELECT value FROM meta WHERE key = 'seq'", &[])?
        .int(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_and_nothing_else_changes() {
        assert_eq!(
            dollar_placeholders("SELECT ?1, '?', ?12 WHERE a = ?2"),
            "SELECT $1, '?', $12 WHERE a = $2"
        );
    }
}
