//! When an event runs at baseline and when at peak: a pure function of the spec, the sale's state in the
//! reservation service and the current time.
//!
//! ```text
//!   baseline          | peak (prewarm)   | peak (on sale)          | baseline
//! --------------------+------------------+-------------------------+----------->
//!                opensAt - prewarm    opensAt      sold out or closesAt
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
}

/// The schedule's verdict at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The event's phase.
    pub phase: Phase,
    /// Whether the peak replica count applies.
    pub peak: bool,
    /// The floor of the replica count: the autoscaler never goes below it.
    pub min_replicas: i32,
    /// The ceiling of the replica count (raised to the floor if the spec's maximum is lower).
    pub max_replicas: i32,
    /// The next instant at which the verdict changes by the clock alone.
    pub next_transition: Option<DateTime<Utc>>,
}

/// Decides the phase and replica bounds of an event at `now`.
pub fn decide(spec: &TicketEventSpec, sale: SaleState, now: DateTime<Utc>) -> Decision {
    let opens = spec.sale.opens_at;
    let closes = spec.sale.closes_at;
    let prewarm_at = opens - Duration::minutes(i64::from(spec.scaling.prewarm_minutes));
    let (phase, peak, next_transition) = if sale.closed || now >= closes {
        (Phase::Closed, false, None)
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
    let min_replicas = floor.max(spec.scaling.hpa.min_replicas);
    let max_replicas = spec.scaling.hpa.max_replicas.max(min_replicas);
    Decision { phase, peak, min_replicas, max_replicas, next_transition }
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
        let sold_out = SaleState { sold_out: true, closed: false };

        let decision = decide(&spec, sold_out, at(&spec, 5));

        assert_eq!((decision.phase, decision.min_replicas), (Phase::SoldOut, 2));
        assert_eq!(decision.next_transition, Some(spec.sale.closes_at));
    }

    #[test]
    fn a_sold_out_flag_before_the_opening_does_not_end_the_prewarm() {
        let spec = spec();
        let sold_out = SaleState { sold_out: true, closed: false };

        assert_eq!(decide(&spec, sold_out, at(&spec, -1)).phase, Phase::Prewarming);
    }

    #[test]
    fn closes_on_the_instant_and_never_transitions_again() {
        let spec = spec();
        let closes = spec.sale.closes_at;

        let before = decide(&spec, SaleState::default(), closes - Duration::seconds(1));
        let closed = decide(&spec, SaleState::default(), closes);

        assert_eq!(before.phase, Phase::OnSale);
        assert_eq!((closed.phase, closed.min_replicas, closed.next_transition), (Phase::Closed, 2, None));
    }

    #[test]
    fn a_sale_closed_early_is_closed_whatever_the_clock() {
        let spec = spec();
        let closed = SaleState { sold_out: false, closed: true };

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

    #[test]
    fn the_ceiling_never_falls_below_the_floor() {
        let mut spec = spec();
        spec.scaling.hpa.max_replicas = 3;

        let peak = decide(&spec, SaleState::default(), at(&spec, 0));

        assert_eq!((peak.min_replicas, peak.max_replicas), (6, 6));
    }
}
