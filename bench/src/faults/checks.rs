//! The checks a case adds to the suite's invariants, each read from the database and set against what the clients
//! were told ([`super::journal`]): bookings beyond what a buyer asked for, refusals while seats remained, replays
//! that are not stored, and booked rows nobody was told about.
//!
//! **Refused while seats remained** is decided exactly, without trusting any clock but the campaign's own: a
//! refusal of `q` seats was decided at some instant `D` between its sending and its answer. Every booking whose
//! order was first sent after that answer was decided after `D`, so the seats left at `D` were at least the seats
//! those bookings took, less the seats that came back after `D` (a cancel, an edit or a lapse not known to have
//! committed before the refusal was sent). When that lower bound is `q` or more, seats remained for the refused
//! order: the refusal broke I2.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use sqlx::{AnyPool, Row};

use crate::outcome::{Ack, Refusal};

use super::holds::in_list;
use super::journal::{Increase, Journal};

/// How the buyers' orders compare with the rows stored.
#[derive(Debug, Clone, Default)]
pub struct Bookings {
    /// Rows a buyer was never entitled to: a key acknowledged as two reservations, a second row for a buyer who
    /// placed one order, or a row of a buyer without a key who was told nothing was written.
    pub double_booked: u64,
    /// Rows of buyers without a key whose answer was lost (they could not know they booked).
    pub unknown_to_client: u64,
    /// Examples, for the report.
    pub examples: Vec<String>,
}

/// Compares the rows of `events` per buyer with what the buyers were told (every buyer of a case places one order).
pub async fn bookings(pool: &AnyPool, events: &[i64], journal: &Journal, acks: &[Ack]) -> anyhow::Result<Bookings> {
    let mut result = Bookings::default();
    let mut ids_per_order: HashMap<(&str, &str), BTreeSet<&str>> = HashMap::new();
    for ack in acks.iter().filter(|ack| !ack.key.is_empty()) {
        ids_per_order.entry((&ack.user, &ack.key)).or_default().insert(&ack.id);
    }
    for ((user, key), ids) in ids_per_order.iter().filter(|(_, ids)| ids.len() > 1) {
        result.double_booked += ids.len() as u64 - 1;
        result.examples.push(format!("user {user} key {key} acknowledged as {ids:?}"));
    }
    let rows = sqlx::query(&format!(
        "SELECT user_id, COUNT(*) FROM reservations WHERE event_id IN ({}) GROUP BY user_id HAVING COUNT(*) > 1",
        in_list(events)
    ))
    .fetch_all(pool)
    .await?;
    let mut counted: BTreeMap<String, i64> = BTreeMap::new();
    for row in &rows {
        counted.insert(row.try_get(0)?, row.try_get(1)?);
    }
    let unkeyed: Vec<&str> = journal.unkeyed.keys().map(String::as_str).collect();
    for chunk in unkeyed.chunks(500) {
        let list = chunk.iter().map(|user| format!("'{}'", user.replace('\'', "''"))).collect::<Vec<_>>().join(", ");
        let rows = sqlx::query(&format!(
            "SELECT user_id, COUNT(*) FROM reservations WHERE user_id IN ({list}) GROUP BY user_id"
        ))
        .fetch_all(pool)
        .await?;
        for row in &rows {
            counted.insert(row.try_get(0)?, row.try_get(1)?);
        }
    }
    for (user, rows) in counted {
        let allowed = match journal.unkeyed.get(&user) {
            Some(buyer) => {
                let known = i64::from(buyer.acknowledged);
                let unknown = (rows - known).clamp(0, i64::from(buyer.unknown));
                result.unknown_to_client += unknown as u64;
                known + unknown
            }
            None => 1,
        };
        if rows > allowed {
            result.double_booked += (rows - allowed) as u64;
            if result.examples.len() < 5 {
                result.examples.push(format!("user {user}: {rows} rows, entitled to {allowed}"));
            }
        }
    }
    Ok(result)
}

/// Refusals that were provably decided while enough seats remained (see the module documentation). `counted`
/// says which refusal classes claim there were no seats for the order: always `sold_out`; in cases without a
/// dependency fault, `503` and `504` too (contention must never refuse, I2).
pub fn refused_while_available(
    refusals: &[Refusal],
    acks: &[Ack],
    increases: &[Increase],
    counted: impl Fn(&str) -> bool,
) -> (u64, Vec<String>) {
    // Per event: bookings by first-send time, and seats that came back by the time they were known committed.
    // One booking may be acknowledged several times (copies of one keyed order): it counts once, from the first
    // time any copy was sent.
    let mut first_sent: HashMap<&str, (i64, Instant, i64)> = HashMap::new();
    for ack in acks {
        if let Some(sent) = ack.sent {
            let entry = first_sent.entry(&ack.id).or_insert((ack.event, sent, ack.quantity));
            entry.1 = entry.1.min(sent);
        }
    }
    let mut booked: HashMap<i64, Vec<(Instant, i64)>> = HashMap::new();
    for (event, sent, quantity) in first_sent.into_values() {
        booked.entry(event).or_default().push((sent, quantity));
    }
    let mut unknown_returns: HashMap<i64, i64> = HashMap::new();
    let mut returns: HashMap<i64, Vec<(Instant, i64)>> = HashMap::new();
    for increase in increases {
        match increase.committed_by {
            Some(at) => returns.entry(increase.event).or_default().push((at, increase.seats)),
            None => *unknown_returns.entry(increase.event).or_default() += increase.seats,
        }
    }
    let booked_after = by_time(booked);
    let returned_after = by_time(returns);
    let mut count = 0;
    let mut examples = Vec::new();
    for refusal in refusals.iter().filter(|refusal| counted(&refusal.class)) {
        let left = sum_after(&booked_after, refusal.event, refusal.received)
            - sum_after(&returned_after, refusal.event, refusal.sent)
            - unknown_returns.get(&refusal.event).copied().unwrap_or(0);
        if left >= refusal.quantity {
            count += 1;
            if examples.len() < 5 {
                examples.push(format!(
                    "event {}: {} for {} seats ({}) while at least {left} remained",
                    refusal.event,
                    refusal.class,
                    refusal.quantity,
                    if refusal.keyed { "with a key" } else { "without a key" }
                ));
            }
        }
    }
    (count, examples)
}

/// Seats per event in time order, with the seats at and after each index: `sums[i]` = seats of `list[i..]`.
type Timed = HashMap<i64, (Vec<(Instant, i64)>, Vec<i64>)>;

fn by_time(events: HashMap<i64, Vec<(Instant, i64)>>) -> Timed {
    events
        .into_iter()
        .map(|(event, mut list)| {
            list.sort_by_key(|(at, _)| *at);
            let mut sums = vec![0; list.len() + 1];
            for index in (0..list.len()).rev() {
                sums[index] = sums[index + 1] + list[index].1;
            }
            (event, (list, sums))
        })
        .collect()
}

/// Seats of `event` in `table` strictly after `after`.
fn sum_after(table: &Timed, event: i64, after: Instant) -> i64 {
    table.get(&event).map_or(0, |(list, sums)| sums[list.partition_point(|(at, _)| *at <= after)])
}

/// Replays (`Idempotent-Replayed: true`) answered for reservations the database does not hold.
pub async fn replays_lost(pool: &AnyPool, acks: &[Ack]) -> anyhow::Result<u64> {
    let replayed: BTreeSet<&str> = acks.iter().filter(|ack| ack.replayed).map(|ack| ack.id.as_str()).collect();
    let replayed: Vec<&str> = replayed.into_iter().filter(|id| id.parse::<i64>().is_ok()).collect();
    let mut stored = 0u64;
    for chunk in replayed.chunks(500) {
        let count: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM reservations WHERE id IN ({})", chunk.join(", ")))
                .fetch_one(pool)
                .await?;
        stored += count as u64;
    }
    Ok(replayed.len() as u64 - stored)
}

/// Rows of `event` taking seats that no buyer was acknowledged: every storm buyer retries with its key until it
/// hears the outcome, so each booked row must have reached its buyer.
pub async fn unacknowledged_rows(pool: &AnyPool, event: i64, acks: &[Ack]) -> anyhow::Result<Vec<i64>> {
    let acknowledged: BTreeSet<i64> = acks.iter().filter_map(|ack| ack.id.parse().ok()).collect();
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM reservations WHERE event_id = ? AND status IN ('CONFIRMED', 'HELD') ORDER BY id",
    )
    .bind(event)
    .fetch_all(pool)
    .await?;
    Ok(ids.into_iter().filter(|id| !acknowledged.contains(id)).collect())
}

/// Of the cancels whose answer was lost, the ones the database shows done.
pub async fn cancels_done(pool: &AnyPool, maybe: &[String]) -> anyhow::Result<Vec<String>> {
    let ids: Vec<&str> = maybe.iter().map(String::as_str).filter(|id| id.parse::<i64>().is_ok()).collect();
    let mut done = Vec::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT id FROM reservations WHERE status = 'CANCELLED' AND id IN ({})",
            chunk.join(", ")
        ))
        .fetch_all(pool)
        .await?;
        done.extend(rows.iter().map(i64::to_string));
    }
    Ok(done)
}

/// Lines of the service logs that carry SQL statement text (issue 12 item 7: a batch script holds every buyer's
/// id and key); at most a few, shortened.
pub fn statements_in_logs(logs: &[std::path::PathBuf]) -> Vec<String> {
    const MARKERS: [&str; 3] = ["INSERT INTO reservations", "FOR UPDATE", "UPDATE events SET"];
    let mut found = Vec::new();
    for log in logs {
        let Ok(text) = std::fs::read_to_string(log) else { continue };
        for line in text.lines().filter(|line| MARKERS.iter().any(|marker| line.contains(marker))) {
            if found.len() < 3 {
                found.push(format!("{}: {}", log.display(), line.chars().take(160).collect::<String>()));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ack(id: &str, quantity: i64, sent: Instant) -> Ack {
        Ack {
            id: id.into(),
            user: "u".into(),
            key: "k".into(),
            event: if id == "3" { 2 } else { 1 },
            quantity,
            held: false,
            replayed: false,
            sent: Some(sent),
        }
    }

    fn refusal(quantity: i64, sent: Instant, received: Instant) -> Refusal {
        Refusal { event: 1, quantity, class: "409 sold_out".into(), keyed: false, sent, received }
    }

    #[test]
    fn a_refusal_is_wrong_only_when_later_orders_booked_its_seats_and_nothing_came_back_meanwhile() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let sold_out = |_: &str| true;
        // Refused 2 seats (sent 10 ms, answered 20 ms); orders sent at 30 and 40 ms booked 1 seat each.
        let acks = [ack("1", 1, at(30)), ack("2", 1, at(40)), ack("3", 5, at(50))];
        let refusals = [refusal(2, at(10), at(20))];
        assert_eq!(refused_while_available(&refusals, &acks, &[], sold_out).0, 1);
        // A refusal of 3 seats with 2 left was right.
        assert_eq!(refused_while_available(&[refusal(3, at(10), at(20))], &acks, &[], sold_out).0, 0);
        // Bookings sent before the answer may have been decided before the refusal: they do not count.
        assert_eq!(refused_while_available(&[refusal(2, at(10), at(35))], &acks, &[], sold_out).0, 0);
        // A cancel that committed after the refusal was sent may have freed the seats those orders took.
        let cancel = Increase { event: 1, seats: 1, committed_by: Some(at(25)) };
        assert_eq!(refused_while_available(&refusals, &acks, std::slice::from_ref(&cancel), sold_out).0, 0);
        // One known committed before the refusal was sent does not.
        let early = Increase { committed_by: Some(at(5)), ..cancel.clone() };
        assert_eq!(refused_while_available(&refusals, &acks, &[early], sold_out).0, 1);
        // One whose answer was lost might have committed at any time.
        let unknown = Increase { committed_by: None, ..cancel };
        assert_eq!(refused_while_available(&refusals, &acks, &[unknown], sold_out).0, 0);
        // Copies of one order acknowledged twice are one booking.
        let copies = [ack("1", 1, at(30)), ack("1", 1, at(31))];
        assert_eq!(refused_while_available(&refusals, &copies, &[], sold_out).0, 0);
        // Classes the case does not count are ignored.
        assert_eq!(refused_while_available(&refusals, &acks, &[], |class| class.starts_with("503")).0, 0);
    }
}
