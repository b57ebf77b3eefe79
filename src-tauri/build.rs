// The app's own commands are declared here so that the capability file can allow exactly them
// and nothing else; the capability lives under src-tauri/ so the pattern must be given.
const COMMANDS: &[&str] = &[
    "app_state",
    "create_profile",
    "unlock",
    "lock",
    "set_lock_after_minutes",
    "search_persons",
    "create_person",
    "get_person",
    "update_person_field",
    "delete_person",
    "referentiel",
    "search_rome",
    "list_diagnostics",
    "start_diagnostic",
    "get_diagnostic",
    "edit_diagnostic",
    "finalise_diagnostic",
    "amend_diagnostic",
    "print_diagnostic",
    "save_diagnostic_pdf",
    "sync_status",
    "enrol_device",
    "sync_now",
    "list_conflicts",
    "list_refused_changes",
    "resolve_conflict",
    "list_structures",
    "share_person",
    "list_shares",
    "withdraw_share",
    "get_follow_up",
    "edit_follow_up",
    "plan_to_steps",
    "status_review",
    "save_status_review",
    "list_meetings",
    "create_meeting",
    "edit_meeting",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("./src-tauri/capabilities/**/*")
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("failed to run tauri-build");
}
