//! The fault cases and the campaign's sizes.
//!
//! | case | fault |
//! |---|---|
//! | R0 | none: the control run, whose rate sizes the other storms |
//! | R1 | Redis stopped mid-storm, started again (empty) after an outage |
//! | R2 | MariaDB killed (SIGKILL) mid-storm and started again: crash recovery |
//! | R3 | a service replica SIGKILLed and restarted, five times, alternating replicas |
//! | R4 | Redis flushed mid-storm, then rolled back to an older snapshot (a failover that lost writes) |
//! | R5 | the hold sweeper's lease holder paused (SIGSTOP) past its lease; the other replica takes over |
//! | R6 | MariaDB slowed through toxiproxy: latency spikes (one past a second) and a bandwidth limit |
//! | R7 | MariaDB connections reset as batches are sent, then cut after their `COMMIT`s went through; Redis's reset |
//! | R8 | Redis restarted while holds lapse |
//! | R9 | ten hot events at once in one process |
//! | R10 | 20,000 holds lapse at once mid-storm |

use std::time::Duration;

/// One fault case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    R0,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R9,
    R10,
}

impl Case {
    pub const ALL: [Case; 11] =
        [Case::R0, Case::R1, Case::R2, Case::R3, Case::R4, Case::R5, Case::R6, Case::R7, Case::R8, Case::R9, Case::R10];

    /// The names `--case` accepts.
    pub const NAMES: [&'static str; 10] = ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10"];

    pub fn name(self) -> &'static str {
        match self {
            Case::R0 => "R0",
            Case::R1 => "R1",
            Case::R2 => "R2",
            Case::R3 => "R3",
            Case::R4 => "R4",
            Case::R5 => "R5",
            Case::R6 => "R6",
            Case::R7 => "R7",
            Case::R8 => "R8",
            Case::R9 => "R9",
            Case::R10 => "R10",
        }
    }

    pub fn fault(self) -> &'static str {
        match self {
            Case::R0 => "none (control)",
            Case::R1 => "Redis stopped mid-storm, restarted empty",
            Case::R2 => "MariaDB SIGKILLed mid-storm, restarted (crash recovery)",
            Case::R3 => "a service replica SIGKILLed and restarted, 5 times",
            Case::R4 => "Redis flushed, then rolled back to an older snapshot",
            Case::R5 => "sweeper lease holder SIGSTOPped past its lease",
            Case::R6 => "MariaDB latency spikes (100 ms to 1.2 s) and a bandwidth limit (toxiproxy)",
            Case::R7 => "MariaDB connections reset mid-batch and cut after COMMIT; Redis connections reset (toxiproxy)",
            Case::R8 => "Redis restarted while holds lapse",
            Case::R9 => "ten hot events at once in one process",
            Case::R10 => "20,000 holds lapse at once mid-storm",
        }
    }

    /// Whether the fault takes a dependency away (so `503`s during it are expected and holds cannot be swept until
    /// it ends); in the other cases every `503` while seats remained is a refusal that breaks I2.
    pub fn outage(self) -> bool {
        matches!(self, Case::R1 | Case::R2 | Case::R4 | Case::R6 | Case::R7 | Case::R8)
    }

    /// How many replicas serve the case.
    pub fn replicas(self) -> usize {
        if self == Case::R9 {
            1
        } else {
            2
        }
    }

    /// How many hot events the storm spreads over.
    pub fn hot_events(self) -> usize {
        if self == Case::R9 {
            10
        } else {
            1
        }
    }
}

/// How big and how long the faults are.
#[derive(Debug, Clone)]
pub struct Plan {
    pub connections: usize,
    /// Seats of the control storm (R0).
    pub control_seats: i64,
    /// How long each faulted storm should last at the control rate; sizes its event.
    pub storm_secs: f64,
    /// How long Redis stays down in R1.
    pub redis_outage: Duration,
    /// How long MariaDB stays down in R2 before it is started again.
    pub database_outage: Duration,
    /// How long the lease holder stays paused in R5 (longer than its lease).
    pub pause: Duration,
    /// Holds that lapse together in R10.
    pub mass_holds: i64,
    /// A storm that has not sold out after this long is reported as broken.
    pub storm_limit: Duration,
}

impl Plan {
    pub fn quick(connections: Option<usize>) -> Self {
        Self {
            connections: connections.unwrap_or(100),
            control_seats: 30_000,
            storm_secs: 5.0,
            redis_outage: Duration::from_millis(1500),
            database_outage: Duration::from_secs(1),
            pause: Duration::from_millis(1500),
            mass_holds: 20_000,
            storm_limit: Duration::from_secs(120),
        }
    }

    pub fn full(connections: Option<usize>) -> Self {
        Self {
            connections: connections.unwrap_or(1000),
            control_seats: 50_000,
            storm_secs: 20.0,
            redis_outage: Duration::from_secs(5),
            database_outage: Duration::from_secs(3),
            pause: Duration::from_secs(3),
            mass_holds: 20_000,
            storm_limit: Duration::from_secs(300),
        }
    }

    /// Seats for a faulted storm that lasts about [`Plan::storm_secs`] at `control_rate` seats per second.
    pub fn seats_for(&self, control_rate: f64) -> i64 {
        ((control_rate * self.storm_secs) as i64).clamp(5_000, 2_000_000)
    }
}
