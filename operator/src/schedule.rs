//! When an event runs at baseline, when at peak and when not at all: a pure function of the spec, the sale's state
//! and the current time. The replica bounds come from the spec and the clock alone; the reservation service only
//! adds whether the sale sold out or was closed early (its last known answer while it cannot be reached).
//!
//! ```text
//!   baseline          | peak (prewarm)   | peak (on sale)          | baseline         | zero
//! --------------------+------------------+-------------------------+------------------+---------->
//!                opensAt - prewarm    opensAt      sold out or closesAt     closed + grace period
//! ```

use chrono::{DateTime, Duration, Utc};
use ticketing_crds::{Phase, TicketEventSpec};

/// What the reservation service says about the sale, beyond the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SaleState {
    /// No seat is left.
    pub sold_out: bool,
    /// The sale was ended early through the admin API.
    pub closed: bool,
    /// When the operator first saw the sale closed (the status's `saleClosedAt`), if it has.
    pub closed_since: Option<DateTime<Utc>>,
}

/// The schedule's verdict at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The event's phase.
    pub phase: Phase,
    /// Whether the peak replica count applies.
    pub peak: bool,
    /// The floor of the replica count: the autoscaler never goes below it. Zero once a closed sale's grace period
    /// has passed, when there is no autoscaler.
    pub min_replicas: i32,
    /// The ceiling of the replica count, `scaling.hpa.maxReplicas` (the CRD keeps every floor below it).
    pub max_replicas: i32,
    /// The next instant at which the verdict changes by the clock alone.
    pub next_transition: Option<DateTime<Utc>>,
    /// When the sale opened, once it has.
    pub opened_at: Option<DateTime<Utc>>,
    /// When the sale closed, once it has.
    pub closed_at: Option<DateTime<Utc>>,
}

impl Decision {
    /// Whether the event runs no pods (and has no autoscaler).
    pub fn scaled_to_zero(&self) -> bool {
        self.min_replicas == 0
    }
}

/// Decides the phase and replica bounds of an event at `now`.
pub fn decide(spec: &TicketEventSpec, sale: SaleState, now: DateTime<Utc>) -> Decision {
    let opens = spec.sale.opens_at;
    let closes = spec.sale.closes_at;
    let prewarm_at = opens - Duration::minutes(i64::from(spec.scaling.prewarm_minutes));
    let closed_at = if sale.closed {
        Some(sale.closed_since.unwrap_or(now).min(closes))
    } else {
        (now >= closes).then_some(closes)
    };
    let (phase, peak, next_transition) = if let Some(closed_at) = closed_at {
        let zero_at = closed_at + grace_period(spec);
        (Phase::Closed, false, (now < zero_at).then_some(zero_at))
    } else if sale.sold_out && now >= opens {
        (Phase::SoldOut, false, Some(closes))
    } else if now >= opens {
        (Phase::OnSale, true, Some(closes))
    } else if now >= prewarm_at {
        (Phase::Prewarming, true, Some(opens))
    } else {
        (Phase::Scheduled, false, Some(prewarm_at))
    };
    let baseline = spec.replicas.unwrap_or(spec.scaling.baseline_replicas).max(1);
    let floor = if peak { baseline.max(spec.scaling.peak_replicas) } else { baseline };
    let zero = phase == Phase::Closed && next_transition.is_none();
    let min_replicas = if zero { 0 } else { floor.max(spec.scaling.hpa.min_replicas) };
    Decision {
        phase,
        peak,
        min_replicas,
        max_replicas: spec.scaling.hpa.max_replicas,
        next_transition,
        opened_at: (now >= opens && closed_at.is_none_or(|at| at >= opens)).then_some(opens),
        closed_at,
    }
}

/// How long a closed sale keeps its pods: the spec's grace period, and at least until the last hold could lapse
/// (its buyers confirm or cancel on the event's pods).
fn grace_period(spec: &TicketEventSpec) -> Duration {
    let grace = Duration::minutes(i64::from(spec.scaling.closed_grace_period_minutes));
    grace.max(Duration::seconds(i64::from(spec.hold_seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::spec;

    fn at(spec: &TicketEventSpec, offset_secs: i64) -> DateTime<Utc> {
        spec.sale.opens_at + Duration::seconds(offset_secs)
    }

    #[test]
    fn runs_at_baseline_until_the_prewarm_instant_then_at_peak() {
        let spec = spec();
        let prewarm = -60 * i64::from(spec.scaling.prewarm_minutes);

        let before = decide(&spec, SaleState::default(), at(&spec, prewarm - 1));
        let on_the_instant = decide(&spec, SaleState::default(), at(&spec, prewarm));

        assert_eq!((before.phase, before.min_replicas), (Phase::Scheduled, 2));
        assert_eq!(before.next_transition, Some(at(&spec, prewarm)));
        assert_eq!((on_the_instant.phase, on_the_instant.min_replicas), (Phase::Prewarming, 6));
        assert_eq!(on_the_instant.next_transition, Some(spec.sale.opens_at));
    }

    #[test]
    fn opens_on_the_instant_and_stays_at_peak() {
        let spec = spec();

        let before = decide(&spec, SaleState::default(), at(&spec, -1));
        let open = decide(&spec, SaleState::default(), at(&spec, 0));

        assert_eq!(before.phase, Phase::Prewarming);
        assert_eq!((open.phase, open.peak, open.min_replicas), (Phase::OnSale, true, 6));
        assert_eq!(open.next_transition, Some(spec.sale.closes_at));
    }

    #[test]
    fn returns_to_baseline_once_sold_out() {
        let spec = spec();
        let sold_out = SaleState { sold_out: true, ..SaleState::default() };

        let decision = decide(&spec, sold_out, at(&spec, 5));

        assert_eq!((decision.phase, decision.min_replicas), (Phase::SoldOut, 2));
        assert_eq!(decision.next_transition, Some(spec.sale.closes_at));
    }

    #[test]
    fn a_sold_out_flag_before_the_opening_does_not_end_the_prewarm() {
        let spec = spec();
        let sold_out = SaleState { sold_out: true, ..SaleState::default() };

        assert_eq!(decide(&spec, sold_out, at(&spec, -1)).phase, Phase::Prewarming);
    }

    #[test]
    fn closes_on_the_instant_and_scales_to_zero_after_the_grace_period() {
        let spec = spec();
        let closes = spec.sale.closes_at;
        let zero_at = closes + Duration::minutes(i64::from(spec.scaling.closed_grace_period_minutes));

        let before = decide(&spec, SaleState::default(), closes - Duration::seconds(1));
        let closed = decide(&spec, SaleState::default(), closes);
        let in_grace = decide(&spec, SaleState::default(), zero_at - Duration::seconds(1));
        let zero = decide(&spec, SaleState::default(), zero_at);

        assert_eq!(before.phase, Phase::OnSale);
        assert_eq!((closed.phase, closed.min_replicas, closed.next_transition), (Phase::Closed, 2, Some(zero_at)));
        assert_eq!((closed.closed_at, closed.opened_at), (Some(closes), Some(spec.sale.opens_at)));
        assert!(!in_grace.scaled_to_zero());
        assert_eq!((zero.phase, zero.min_replicas, zero.next_transition), (Phase::Closed, 0, None));
        assert!(zero.scaled_to_zero());
    }

    #[test]
    fn the_pods_stay_until_the_last_hold_could_lapse() {
        let mut spec = spec();
        spec.scaling.closed_grace_period_minutes = 0;
        spec.hold_seconds = 600;
        let closes = spec.sale.closes_at;

        let held = decide(&spec, SaleState::default(), closes + Duration::seconds(599));
        let lapsed = decide(&spec, SaleState::default(), closes + Duration::seconds(600));

        assert_eq!(held.min_replicas, 2);
        assert_eq!(lapsed.min_replicas, 0);
    }

    #[test]
    fn the_grace_period_of_a_sale_closed_early_counts_from_when_it_was_first_seen_closed() {
        let spec = spec();
        let seen = at(&spec, 3600);
        let closed = SaleState { sold_out: false, closed: true, closed_since: Some(seen) };
        let grace = Duration::minutes(i64::from(spec.scaling.closed_grace_period_minutes));

        let first = decide(&spec, SaleState { closed_since: None, ..closed }, seen);
        let later = decide(&spec, closed, seen + grace);

        assert_eq!((first.closed_at, first.next_transition), (Some(seen), Some(seen + grace)));
        assert_eq!(later.min_replicas, 0);
    }

    #[test]
    fn a_sale_is_opened_from_its_opening_on_unless_it_was_closed_before() {
        let spec = spec();
        let closed_early = SaleState { sold_out: false, closed: true, closed_since: Some(at(&spec, -60)) };

        assert_eq!(decide(&spec, SaleState::default(), at(&spec, -1)).opened_at, None);
        assert_eq!(decide(&spec, SaleState::default(), at(&spec, 0)).opened_at, Some(spec.sale.opens_at));
        assert_eq!(decide(&spec, closed_early, at(&spec, 60)).opened_at, None);
    }

    #[test]
    fn a_sale_closed_early_is_closed_whatever_the_clock() {
        let spec = spec();
        let closed = SaleState { sold_out: false, closed: true, closed_since: None };

        assert_eq!(decide(&spec, closed, at(&spec, 1)).phase, Phase::Closed);
    }

    #[test]
    fn the_scale_subresource_replaces_the_baseline_but_not_the_peak() {
        let mut spec = spec();
        spec.replicas = Some(4);

        let off_peak = decide(&spec, SaleState::default(), at(&spec, -3600));
        let peak = decide(&spec, SaleState::default(), at(&spec, 0));

        assert_eq!(off_peak.min_replicas, 4);
        assert_eq!(peak.min_replicas, 6);
    }
}
