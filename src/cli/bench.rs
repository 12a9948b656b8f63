//! `fundledger bench …`: benchmarks that print figures.

/// Arguments of `fundledger bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {}

/// Runs a benchmark.
pub fn run(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("no benchmark yet")
}
