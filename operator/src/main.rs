//! The `ticketing-operator` command line (being written): `crd` prints the TicketEvent CRD.

use clap::{Parser, Subcommand};

/// Runs a reservation service per TicketEvent, scaled ahead of its on-sale.
#[derive(Parser)]
#[command(name = "ticketing-operator", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prints the TicketEvent CustomResourceDefinition as YAML.
    Crd,
}

fn main() {
    match Cli::parse().command {
        Command::Crd => print!("{}", ticketing_crds::crd_yaml()),
    }
}
