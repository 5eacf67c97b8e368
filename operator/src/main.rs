//! The `ticketing-operator` binary: parses the command line, prints the CRD or the RBAC, deletes every TicketEvent
//! before an uninstall, or runs the operator with JSON logs, Prometheus metrics and a graceful shutdown on SIGTERM or
//! Ctrl-C.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tokio::net::TcpListener;
use tokio::sync::watch;

use ticketing_operator::cli::{Cli, Command, DeleteEventsArgs, RunArgs};
use ticketing_operator::clock::SystemClock;
use ticketing_operator::error::Error;
use ticketing_operator::service_api::ServiceApi;
use ticketing_operator::telemetry::LogFormat;
use ticketing_operator::{metrics, rbac, telemetry, Operator};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run(Box::new(cli.run))) {
        Command::Crd => print!("{}", ticketing_crds::crd_yaml()),
        Command::Rbac => print!("{}", rbac::rbac_yaml()),
        Command::DeleteEvents(args) => {
            telemetry::init(LogFormat::Json);
            if let Err(e) = delete_events(args).await {
                tracing::error!(error = %e, "deleting the TicketEvents failed");
                return ExitCode::FAILURE;
            }
        }
        Command::Run(args) => {
            telemetry::init(args.log_format);
            if let Err(e) = run(*args).await {
                tracing::error!(error = %e, "the operator stopped on an error");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

async fn run(args: RunArgs) -> Result<(), Error> {
    let service_api = ServiceApi::new(args.api_url()?, args.admin_token()?);
    let metrics = metrics::install_recorder()?;
    let client = kube::Client::try_default()
        .await
        .map_err(|e| Error::Startup(format!("connecting to the Kubernetes API: {e}")))?;
    let listener = TcpListener::bind(args.metrics_bind)
        .await
        .map_err(|e| Error::Startup(format!("binding {}: {e}", args.metrics_bind)))?;
    let operator = Operator {
        client,
        config: args.operator_config(),
        service_api,
        clock: Arc::new(SystemClock),
        lease: args.lease_settings(),
        reconcile_all: None,
    };
    let (stop, shutdown) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing reconciles and releasing the lease");
        stop.send_replace(true);
    });
    let addr = listener.local_addr().map_err(|e| Error::Startup(format!("reading the bound address: {e}")))?;
    tracing::info!(%addr, "ticketing-operator starting");
    ticketing_operator::run(operator, listener, Some(metrics), shutdown).await
}

async fn delete_events(args: DeleteEventsArgs) -> Result<(), Error> {
    let client = kube::Client::try_default()
        .await
        .map_err(|e| Error::Startup(format!("connecting to the Kubernetes API: {e}")))?;
    let namespace = args.namespace.as_deref().filter(|namespace| !namespace.is_empty());
    ticketing_operator::uninstall::delete_events(client, namespace, Duration::from_secs(args.timeout_seconds)).await?;
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
