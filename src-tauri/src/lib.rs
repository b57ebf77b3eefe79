//! Tandem's desktop shell: wires the use-cases of [`core::AppCore`] to Tauri.

pub mod bindings;
mod commands;
pub mod core;
pub mod error;
pub mod followup_view;
mod logging;
pub mod paths;
pub mod printing;
pub mod sync_view;

use std::sync::Arc;

use tandem_keys::Keychain;

use crate::core::{AppCore, KeychainProvider};
use crate::paths::Paths;

pub fn run() {
    let Some(paths) = Paths::from_env() else {
        eprintln!("Tandem : impossible de trouver le dossier de données de l’utilisateur.");
        std::process::exit(1);
    };
    if let Err(e) = logging::init(&paths.log_dir) {
        eprintln!("Tandem: cannot open the log file: {e}");
    }
    log::info!("starting Tandem {}", env!("CARGO_PKG_VERSION"));

    let keychain: KeychainProvider = Arc::new(Keychain::native);
    let core = Arc::new(AppCore::new(paths, keychain));

    let result = tauri::Builder::default()
        // Used from Rust only (the "save as" dialog); the window gets no dialog permission.
        .plugin(tauri_plugin_dialog::init())
        .manage(core.clone())
        .setup(move |_app| {
            // One supervised background task syncs with the territory server when enrolled.
            tauri::async_runtime::spawn(crate::core::run_worker(core));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_state,
            commands::create_profile,
            commands::unlock,
            commands::lock,
            commands::set_lock_after_minutes,
            commands::search_persons,
            commands::create_person,
            commands::get_person,
            commands::update_person_field,
            commands::delete_person,
            commands::referentiel,
            commands::search_rome,
            commands::list_diagnostics,
            commands::start_diagnostic,
            commands::get_diagnostic,
            commands::edit_diagnostic,
            commands::finalise_diagnostic,
            commands::amend_diagnostic,
            commands::print_diagnostic,
            commands::save_diagnostic_pdf,
            commands::sync_status,
            commands::enrol_device,
            commands::sync_now,
            commands::list_conflicts,
            commands::list_refused_changes,
            commands::resolve_conflict,
            commands::list_structures,
            commands::share_person,
            commands::list_shares,
            commands::withdraw_share,
            commands::get_follow_up,
            commands::edit_follow_up,
            commands::plan_to_steps,
            commands::status_review,
            commands::save_status_review,
            commands::list_meetings,
            commands::create_meeting,
            commands::edit_meeting,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        log::error!("the app stopped on an error: {e}");
        eprintln!("Tandem: {e}");
        std::process::exit(1);
    }
}
