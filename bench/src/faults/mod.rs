//! The fault campaign (being built; see issue 7).

use std::path::PathBuf;

/// Flags of `ticketing-bench faults`.
#[derive(Debug, clap::Args)]
pub struct FaultsArgs {
    /// The short campaign CI runs.
    #[arg(long)]
    pub quick: bool,
    /// Directory for faults.json, faults.md and the logs.
    #[arg(long, default_value = "bench-results")]
    pub out: PathBuf,
}

/// Runs the campaign; `Ok(false)` when an invariant broke.
pub fn run(args: FaultsArgs) -> anyhow::Result<bool> {
    anyhow::bail!("`ticketing-bench faults --out {}` is not built yet", args.out.display())
}
