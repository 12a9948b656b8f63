//! `fundledger serve`: the gRPC service on an embedded sled store.

use anyhow::Context;

use crate::log::{Log, LogConfig};

/// Arguments of `fundledger serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    data: super::DataDir,
    /// The address to listen on.
    #[arg(long, env = "FUNDLEDGER_LISTEN", default_value = "127.0.0.1:50051")]
    listen: std::net::SocketAddr,
}

/// Opens the log and serves until ctrl-c or SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let log = Log::open(&LogConfig::new(&args.data.path))
        .with_context(|| format!("opening the log in {}", args.data.path.display()))?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(crate::api::serve(std::sync::Arc::new(log), args.listen))
}
