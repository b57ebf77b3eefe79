//! What the app's integration tests share: the real territory server on loopback and a laptop
//! (an `AppCore` on a real SQLCipher file in a temporary profile folder, keyring-core's mock
//! keychain with one store per laptop).
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use tandem_app::core::{AppCore, AppState, KeychainProvider};
use tandem_app::paths::Paths;
use tandem_domain::{NewPerson, NewProfile, Person, Role};
use tandem_keys::Keychain;
use tandem_server::http::{app, AppState as ServerState};
use tandem_server::Store;
use uuid::Uuid;

pub struct Server {
    pub url: String,
    pub state: ServerState,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Server {
    pub async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let state = ServerState::new(Store::open(dir.path()).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = app(state.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap()
        });
        Server {
            url,
            state,
            stop: Some(stop),
            _dir: dir,
        }
    }

    /// A structure, a caseworker account in it, and a one-time enrolment code for that account.
    pub async fn account(
        &self,
        structure: &str,
        caseworker: &str,
        role: tandem_server::Role,
    ) -> (Uuid, String) {
        let (structure, caseworker) = (structure.to_string(), caseworker.to_string());
        self.state
            .with_store(move |s| {
                let now = tandem_server::now_ms();
                let sid = s.add_structure(&structure, "test", now)?;
                let cw = s.add_caseworker(sid, &caseworker, role, now)?;
                let code = s.add_enrolment_code(cw, 72, now)?;
                Ok((sid, code.code))
            })
            .await
            .unwrap()
    }
}

impl Server {
    /// Laptop A of Camille Roux at CCAS de Villeurbanne (social) and laptop B of `b_caseworker`
    /// at Mission locale Est (employment), both enrolled; and B's structure id.
    pub async fn two_enrolled_laptops(&self, b_caseworker: &str) -> (Laptop, Laptop, Uuid) {
        let (_, code_a) = self
            .account(
                "CCAS de Villeurbanne",
                "Camille Roux",
                tandem_server::Role::Social,
            )
            .await;
        let (structure_b, code_b) = self
            .account(
                "Mission locale Est",
                b_caseworker,
                tandem_server::Role::Employment,
            )
            .await;
        let a = Laptop::new("Camille Roux", "CCAS de Villeurbanne", Role::Social);
        let b = Laptop::new(b_caseworker, "Mission locale Est", Role::Employment);
        a.core.enrol_device(&self.url, &code_a).await.unwrap();
        b.core.enrol_device(&self.url, &code_b).await.unwrap();
        (a, b, structure_b)
    }
}

pub struct Laptop {
    pub _dir: tempfile::TempDir,
    pub core: Arc<AppCore>,
    pub keychain_store: Arc<keyring_core::CredentialStore>,
}

impl Laptop {
    pub fn new(caseworker: &str, structure: &str, role: Role) -> Laptop {
        let dir = tempfile::tempdir().unwrap();
        let data: PathBuf = dir.path().join("data");
        let store: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
        let for_provider = Arc::clone(&store);
        let provider: KeychainProvider =
            Arc::new(move |id: &str| Ok(Keychain::with_store(Arc::clone(&for_provider), id)));
        let core = Arc::new(AppCore::new(
            Paths {
                data_dir: data.clone(),
                log_dir: data.join("logs"),
            },
            provider,
        ));
        core.create_profile(&NewProfile {
            caseworker_name: caseworker.into(),
            structure_name: structure.into(),
            role,
            passphrase: "un vélo pour deux".into(),
        })
        .unwrap();
        Laptop {
            _dir: dir,
            core,
            keychain_store: store,
        }
    }

    pub fn token(&self) -> String {
        let AppState::Unlocked { profile } = self.core.state().unwrap() else {
            panic!("locked")
        };
        Keychain::with_store(Arc::clone(&self.keychain_store), &profile.id.to_string())
            .load_device_token()
            .unwrap()
            .to_string()
    }

    /// Hélène Dubois, created on this laptop.
    pub fn add_helene(&self) -> Person {
        self.add_person("Hélène", "Dubois", "")
    }

    pub fn add_person(&self, first: &str, last: &str, birth: &str) -> Person {
        self.core
            .create_person(&NewPerson {
                first_name: first.into(),
                last_name: last.into(),
                birth_date: birth.into(),
            })
            .unwrap()
    }

    /// One follow-up edit, which must be accepted.
    pub fn edit(&self, person: Uuid, edit: tandem_domain::followup::FollowUpEdit) {
        self.core.edit_follow_up(person, &edit).unwrap();
    }

    pub async fn sync(&self) {
        assert!(self.core.sync_cycle().await.unwrap(), "nothing synced");
    }
}
