//! The real territory server on 127.0.0.1:0 (in-process, as in crates/server/tests/common) and
//! laptops: real SQLCipher case files synced through the real HTTP client.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, TimeZone, Utc};
use tandem_domain::diagnostic::{CaseworkerIdentity, Diagnostic, DiagnosticEdit, DiagnosticField};
use tandem_domain::{diagnostic_rules, referentiel, NewPerson, Person, Profile, Role};
use tandem_server::http::{app, AppState};
use tandem_server::Store;
use tandem_store::CaseFile;
use tandem_sync::FollowUpRequest;
use tandem_sync_client::{sync_once, ServerClient, SyncError, SyncOptions, SyncReport};
use uuid::Uuid;

pub struct Server {
    pub base: String,
    pub dir: tempfile::TempDir,
    pub state: AppState,
}

#[derive(Debug, Clone)]
pub struct Dev {
    pub id: Uuid,
    pub token: String,
    pub structure: Uuid,
}

impl Server {
    pub async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::new(Store::open(dir.path()).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = app(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Server { base, dir, state }
    }

    pub async fn structure(&self, name: &str) -> Uuid {
        let name = name.to_string();
        self.state
            .with_store(move |s| s.add_structure(&name, "test", tandem_server::now_ms()))
            .await
            .unwrap()
    }

    pub async fn device(&self, structure: Uuid) -> Dev {
        let (id, token) = self
            .state
            .with_store(move |s| {
                s.add_device(
                    structure,
                    "laptop",
                    tandem_server::Role::Social,
                    tandem_server::now_ms(),
                )
            })
            .await
            .unwrap();
        Dev {
            id,
            token,
            structure,
        }
    }

    pub async fn revoke(&self, device: Uuid) {
        self.state
            .with_store(move |s| s.revoke_device(device))
            .await
            .unwrap();
    }

    pub fn client(&self, dev: &Dev) -> ServerClient {
        ServerClient::new(&self.base, None)
            .unwrap()
            .with_token(dev.token.clone())
    }
}

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

pub fn key(seed: u8) -> [u8; 32] {
    [seed; 32]
}

/// A laptop: a case file in its own folder, enrolled as `dev`.
pub struct Laptop {
    pub file: Mutex<CaseFile>,
    pub path: PathBuf,
    pub client: ServerClient,
    pub dev: Dev,
    pub options: SyncOptions,
}

impl Laptop {
    pub fn new(server: &Server, dir: &Path, dev: &Dev, seed: u8) -> Laptop {
        let path = dir.join(format!("laptop-{seed}.tandem"));
        let mut file = CaseFile::create(&path, &key(seed)).unwrap();
        file.save_profile(&Profile {
            id: Uuid::new_v4(),
            caseworker_name: "Camille Roux".into(),
            structure_name: "Structure".into(),
            role: Role::Social,
            lock_after_minutes: 10,
        })
        .unwrap();
        file.set_sync_state(&server.base, dev.id).unwrap();
        Laptop {
            file: Mutex::new(file),
            path,
            client: server.client(dev),
            dev: dev.clone(),
            options: SyncOptions::default(),
        }
    }

    pub async fn sync(&self) -> Result<SyncReport, SyncError> {
        sync_once(&self.file, &self.client, &self.options, |_| {}).await
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut CaseFile) -> T) -> T {
        f(&mut self.file.lock().unwrap())
    }

    pub fn create_person(&self, first: &str, last: &str) -> Uuid {
        self.with(|f| {
            f.create_person(
                &NewPerson {
                    first_name: first.into(),
                    last_name: last.into(),
                    birth_date: "1985-07-14".into(),
                },
                now(),
            )
            .unwrap()
            .id
        })
    }

    pub fn set(&self, person: Uuid, field: tandem_domain::PersonField, raw: &str) {
        self.with(|f| f.update_person_field(person, field, raw, now()).unwrap());
    }

    pub fn person(&self, id: Uuid) -> Option<Person> {
        self.with(|f| f.person(id).ok())
    }

    pub async fn follow_up(&self, person: Uuid, structure: Uuid, consent: bool) {
        self.client
            .follow_up(&FollowUpRequest {
                person_id: person,
                structure_id: structure,
                consent,
                share_social_notes: false,
            })
            .await
            .unwrap();
    }

    /// What the caseworker sees: every person (without the local timestamps) and every
    /// diagnostic, in a stable order.
    pub fn view(&self) -> View {
        self.with(|f| view(f))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub persons: Vec<Person>,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn view(f: &CaseFile) -> View {
    let list = f.search_persons("", 1_000_000).unwrap();
    let mut persons = Vec::new();
    let mut diagnostics = Vec::new();
    let epoch = Utc.timestamp_millis_opt(0).unwrap();
    for item in list.items {
        let mut p = f.person(item.id).unwrap();
        p.created_at = epoch;
        p.updated_at = epoch;
        persons.push(p);
        for d in f.diagnostics_of_person(item.id).unwrap() {
            diagnostics.push(f.diagnostic(d.id).unwrap());
        }
    }
    persons.sort_by_key(|p| p.id);
    diagnostics.sort_by_key(|d| d.id);
    View {
        persons,
        diagnostics,
    }
}

pub fn draft(person: Uuid) -> Diagnostic {
    diagnostic_rules::new_draft(
        Uuid::now_v7(),
        Uuid::now_v7(),
        person,
        CaseworkerIdentity {
            name: "Camille Roux".into(),
            structure: "Structure".into(),
            role: Role::Social,
            contact: String::new(),
        },
        referentiel::embedded(),
        now(),
    )
}

pub fn set_place(place: &str) -> DiagnosticEdit {
    DiagnosticEdit::SetField {
        field: DiagnosticField::Place,
        value: place.into(),
    }
}

impl Laptop {
    pub fn edit_diagnostic(&self, id: Uuid, edit: &DiagnosticEdit) {
        let ctx = diagnostic_rules::EditContext {
            referentiel: referentiel::embedded(),
            rome: tandem_domain::rome::RomeIndex::embedded(),
            now: now(),
            by: "Camille Roux",
        };
        self.with(|f| {
            f.edit_diagnostic(id, edit, now(), |d| {
                diagnostic_rules::apply_edit(d, edit, &ctx)
            })
            .unwrap()
        });
    }
}
