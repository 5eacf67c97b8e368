//! The operator at scale on the test control plane (being built; see issue 6).

use std::path::PathBuf;

/// Flags of `ticketing-bench operator`.
#[derive(Debug, clap::Args)]
pub struct OperatorArgs {
    /// A smaller run for CI.
    #[arg(long)]
    pub quick: bool,
    /// Directory for operator.json and operator.md.
    #[arg(long, default_value = "bench-results")]
    pub out: PathBuf,
}

/// Runs the operator benchmark; `Ok(false)` when the operator did not reach steady state.
pub fn run(args: OperatorArgs) -> anyhow::Result<bool> {
    anyhow::bail!("`ticketing-bench operator --out {}` is not built yet", args.out.display())
}
