//! `fundledger serve`: the gRPC service on an embedded sled store.

use std::path::PathBuf;

use anyhow::Context;

use crate::api::access::AccessConfig;
use crate::api::{ServerConfig, TlsConfig};
use std::sync::Arc;

use crate::log::{Log, LogConfig};
use crate::projections::Ledger;

/// Where the books' checkpoints live, inside the data directory.
pub const PROJECTIONS_DIRECTORY: &str = "projections";

/// Arguments of `fundledger serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    data: super::DataDir,
    /// The address to listen on. Without --access-config only a loopback address is
    /// accepted (local trust: every caller holds every right).
    #[arg(long, env = "FUNDLEDGER_LISTEN", default_value = "127.0.0.1:50051")]
    listen: std::net::SocketAddr,
    /// The access config: a TOML file of `[[token]]` entries (name, role, the argon2 line
    /// of `fundledger token hash`, and employer_id or institution_id for scoped roles).
    /// Every call then needs `authorization: Bearer <token>`.
    #[arg(long, env = "FUNDLEDGER_ACCESS_CONFIG")]
    access_config: Option<PathBuf>,
    /// The server certificate chain (PEM): serve TLS.
    #[arg(long, env = "FUNDLEDGER_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The server's private key (PEM).
    #[arg(long, env = "FUNDLEDGER_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The CA certificate (PEM) that signs client certificates: require mutual TLS.
    #[arg(long, env = "FUNDLEDGER_TLS_CLIENT_CA", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
}

/// Opens the log and serves until ctrl-c or SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let access = args
        .access_config
        .as_deref()
        .map(AccessConfig::load)
        .transpose()?;
    // Before anything touches the disk: a refused serve must leave no data directory behind.
    crate::api::refuse_exposed_local_trust(args.listen, access.as_ref())?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(certificate), Some(key)) => Some(TlsConfig::load(
            certificate,
            key,
            args.tls_client_ca.as_deref(),
        )?),
        _ => None,
    };
    let log = Log::open(&LogConfig::new(&args.data.path))
        .with_context(|| format!("opening the log in {}", args.data.path.display()))?;
    let log = Arc::new(log);
    let ledger = Ledger::open(
        Arc::clone(&log),
        &args.data.path.join(PROJECTIONS_DIRECTORY),
    )
    .context("opening the books")?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(crate::api::serve(
        log,
        args.listen,
        ServerConfig {
            access,
            tls,
            ledger: Some(Arc::new(ledger)),
            ..ServerConfig::default()
        },
    ))?;
    Ok(())
}
