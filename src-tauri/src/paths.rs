//! Where Tandem keeps its files, found with `directories`. `TANDEM_DATA_DIR` and `TANDEM_LOG_DIR`
//! override them (tests, portable installs, IT-managed locations).

use std::path::{Path, PathBuf};

use directories::ProjectDirs;

#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub log_dir: PathBuf,
}

impl Paths {
    pub fn from_env() -> Option<Self> {
        let dirs = ProjectDirs::from("fr", "Tandem", "Tandem");
        let data_dir = std::env::var_os("TANDEM_DATA_DIR")
            .map(PathBuf::from)
            .or_else(|| dirs.as_ref().map(|d| d.data_local_dir().to_path_buf()))?;
        let log_dir = std::env::var_os("TANDEM_LOG_DIR")
            .map(PathBuf::from)
            .or_else(|| dirs.as_ref().map(os_log_dir))
            .unwrap_or_else(|| data_dir.join("logs"));
        Some(Paths { data_dir, log_dir })
    }

    /// `<data>/profiles/<profile id>/`: one case file and its wrapped key per caseworker profile.
    pub fn profiles_dir(&self) -> PathBuf {
        self.data_dir.join("profiles")
    }

    pub fn profile_dir(&self, profile_id: &str) -> PathBuf {
        self.profiles_dir().join(profile_id)
    }
}

pub const CASE_FILE: &str = "case-file.db";
pub const WRAPPED_KEY: &str = "key.wrapped.json";

pub fn case_file(profile_dir: &Path) -> PathBuf {
    profile_dir.join(CASE_FILE)
}

pub fn wrapped_key(profile_dir: &Path) -> PathBuf {
    profile_dir.join(WRAPPED_KEY)
}

/// The platform's usual place for an application's logs.
fn os_log_dir(dirs: &ProjectDirs) -> PathBuf {
    #[cfg(target_os = "macos")]
    {
        if let Some(base) = directories::BaseDirs::new() {
            return base.home_dir().join("Library/Logs/Tandem");
        }
    }
    #[cfg(target_os = "linux")]
    {
        if let Some(state) = dirs.state_dir() {
            return state.join("logs");
        }
    }
    dirs.data_local_dir().join("logs")
}
