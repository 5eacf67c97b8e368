//! The operator's one error type. Each variant says which stage failed; [`Error::metric_label`] names it for the
//! failure counter.

use crate::service_api::ApiError;

/// Why a reconcile (or the operator itself) failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An API server call of the named stage failed.
    #[error("{stage}: {source}")]
    Kube {
        /// The pipeline stage: `apply`, `prune`, `status` or `finalizer`, or `delete-events`.
        stage: &'static str,
        /// The API server's error.
        #[source]
        source: kube::Error,
    },
    /// An object named like one of the event's children exists and is not controlled by the event; the message
    /// names each one. Nothing is applied until it goes.
    #[error("{0}")]
    NameConflict(String),
    /// The reservation service's admin API failed (it is unreachable, or refused the event).
    #[error("ensure event in database: {0}")]
    ServiceApi(#[from] ApiError),
    /// Adding or removing the finalizer failed, or the clean-up before deletion did.
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
    /// Leader election could not start or end cleanly.
    #[error("leader election: {0}")]
    Lease(#[from] kube_lease_manager::LeaseManagerError),
    /// The TicketEvents of an uninstall were not gone in time.
    #[error("delete-events: {0}")]
    Uninstall(String),
    /// Start-up failed: configuration, client or listener.
    #[error("start-up: {0}")]
    Startup(String),
}

impl Error {
    /// A short, stable label for the failure counter.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Kube { stage, .. } => stage,
            Error::NameConflict(_) => "name_conflict",
            Error::ServiceApi(_) => "service_api",
            Error::Finalizer(inner) => match inner.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(e) | kube::runtime::finalizer::Error::CleanupFailed(e) => {
                    e.metric_label()
                }
                _ => "finalizer",
            },
            Error::Lease(_) => "lease",
            Error::Uninstall(_) => "uninstall",
            Error::Startup(_) => "startup",
        }
    }

    /// Wraps an API server error of `stage`.
    pub fn kube(stage: &'static str) -> impl FnOnce(kube::Error) -> Error {
        move |source| Error::Kube { stage, source }
    }
}
