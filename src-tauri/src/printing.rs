//! Sending a PDF to the operating system's printing: CUPS `lp` on Linux and macOS, the shell's
//! "print" verb on Windows. Nothing here knows what the document says.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Why a print job could not be handed to the system.
#[derive(Debug, thiserror::Error)]
pub enum PrintJobError {
    /// The printing system itself is missing (no CUPS client, no print handler for PDFs).
    #[error("no printing system")]
    NoPrintingSystem,
    /// The printing system refused the job: no printer, no default printer, printer stopped.
    #[error("the printing system refused the job (exit status {0:?})")]
    Refused(Option<i32>),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// How to reach the system's printing. `Printer::system()` in the app; tests point `program` at
/// a stand-in for `lp` to check what is sent without a real printer.
#[derive(Debug, Clone)]
pub struct Printer {
    pub program: PathBuf,
}

impl Printer {
    pub fn system() -> Self {
        #[cfg(windows)]
        let program = PathBuf::from("powershell.exe");
        #[cfg(not(windows))]
        let program = PathBuf::from("lp");
        Printer { program }
    }

    /// Hands `pdf` to the default printer and returns once the system has queued it.
    pub fn print(&self, pdf: &Path) -> Result<(), PrintJobError> {
        let mut command = Command::new(&self.program);
        #[cfg(windows)]
        command.args([
            "-NoProfile",
            "-NonInteractive",
            "-Command",
            "Start-Process -FilePath $args[0] -Verb Print -Wait",
        ]);
        #[cfg(windows)]
        command.arg(pdf);
        #[cfg(not(windows))]
        command.arg("--").arg(pdf);
        let status = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => PrintJobError::NoPrintingSystem,
                _ => PrintJobError::Io(e),
            })?;
        if status.success() {
            Ok(())
        } else {
            Err(PrintJobError::Refused(status.code()))
        }
    }
}
