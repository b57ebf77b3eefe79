//! `tandem-server`: parses the command line and hands over to the library.

use std::process::ExitCode;

use tandem_server::cli::{self, Command};
use tandem_server::http::{app, AppState};
use tandem_server::Store;

// mimalloc, not the system allocator (see `mimalloc` in the workspace manifest).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("tandem-server: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<bool, cli::CliError> {
    let invocation = cli::parse(args)?;
    let data_dir = cli::data_dir(invocation.data_dir)?;
    let mut store = match &invocation.database_url {
        Some(url) => Store::open_postgres(url)?,
        None => Store::open(&data_dir)?,
    };
    match invocation.command {
        Command::Admin(words) => cli::admin(&mut store, &words, &mut std::io::stdout().lock()),
        Command::Serve { listen, tls } => {
            cli::check_listen(listen, tls.is_some())?;
            // Read and check the certificate before binding: a bad pair never starts serving.
            let tls = tls
                .map(|files| tandem_server::tls::load_server_config(&files.cert, &files.key))
                .transpose()?;
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen).await?;
                let router = app(AppState::new(store));
                match tls {
                    Some(config) => {
                        eprintln!(
                            "tandem-server: listening on https://{}",
                            listener.local_addr()?
                        );
                        tandem_server::tls::serve(listener, router, config).await;
                    }
                    None => {
                        eprintln!(
                            "tandem-server: listening on http://{}",
                            listener.local_addr()?
                        );
                        axum::serve(listener, router).await?;
                    }
                }
                Ok(true)
            })
        }
    }
}
