//! Which SRV names to ask and in which order to try their answers (RFC 2782). Pure: the
//! randomness of the weighted choice is a parameter (the OS generator in the daemon's resolver,
//! a fixed sequence in the tests).

use super::SrvRecord;
use crate::dc_name::{Candidate, check_host_name};

/// The SRV names to ask, most specific first.
pub fn srv_names(domain: &str, site: Option<&str>) -> Vec<String> {
    let domain = domain.trim_end_matches('.');
    let mut names = Vec::new();
    if let Some(site) = site.filter(|s| !s.is_empty()) {
        names.push(format!("_ldap._tcp.{site}._sites.dc._msdcs.{domain}"));
    }
    names.push(format!("_ldap._tcp.dc._msdcs.{domain}"));
    names
}

/// RFC 2782 order: ascending priority; within a priority, repeated weighted random choice, with
/// zero-weight records first in the running sum so they are picked only rarely when others have
/// weight. `random_upto(n)` must return a uniform value in `0..=n`. Records whose target is "."
/// (service not offered) and duplicates are dropped.
pub fn order_srv(records: &[SrvRecord], random_upto: &mut dyn FnMut(u64) -> u64) -> Vec<SrvRecord> {
    let mut pending: Vec<SrvRecord> = Vec::new();
    for r in records {
        let dup = pending
            .iter()
            .any(|p| p.target.eq_ignore_ascii_case(&r.target) && p.port == r.port);
        if !r.target.is_empty() && !dup {
            pending.push(r.clone());
        }
    }
    pending.sort_by_key(|r| (r.priority, r.weight != 0));
    let mut out = Vec::with_capacity(pending.len());
    while let Some(first) = pending.first() {
        let priority = first.priority;
        let mut group: Vec<SrvRecord> = Vec::new();
        while pending.first().is_some_and(|r| r.priority == priority) {
            group.push(pending.remove(0));
        }
        while !group.is_empty() {
            let total: u64 = group.iter().map(|r| u64::from(r.weight)).sum();
            let pick = random_upto(total).min(total);
            let mut running = 0u64;
            let mut chosen = group.len() - 1;
            for (i, r) in group.iter().enumerate() {
                running += u64::from(r.weight);
                if running >= pick {
                    chosen = i;
                    break;
                }
            }
            out.push(group.remove(chosen));
        }
    }
    out
}

/// Adds SRV targets that are usable host names and not listed yet (site DCs reappear in the
/// domain-wide records).
pub fn append_candidates(
    list: &mut Vec<Candidate>,
    ordered: Vec<SrvRecord>,
    port_override: Option<u16>,
) {
    for r in ordered {
        let port = port_override.unwrap_or(r.port);
        let known = list
            .iter()
            .any(|c| c.port == port && c.host.eq_ignore_ascii_case(&r.target));
        if !known && check_host_name(&r.target).is_ok() {
            list.push(Candidate {
                host: r.target,
                port,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(priority: u16, weight: u16, target: &str) -> SrvRecord {
        SrvRecord {
            priority,
            weight,
            port: 389,
            target: target.into(),
        }
    }

    fn targets(v: &[SrvRecord]) -> Vec<&str> {
        v.iter().map(|r| r.target.as_str()).collect()
    }

    #[test]
    fn priority_orders_groups() {
        let recs = [rec(20, 0, "c"), rec(0, 0, "a"), rec(10, 0, "b")];
        let out = order_srv(&recs, &mut |_| 0);
        assert_eq!(targets(&out), ["a", "b", "c"]);
    }

    #[test]
    fn weight_selection_follows_running_sum() {
        // zero weight first, then a (w 10), b (w 30): sums 0, 10, 40.
        let recs = [rec(0, 10, "a"), rec(0, 0, "z"), rec(0, 30, "b")];
        // pick 0 -> z (running sum 0 >= 0)
        assert_eq!(targets(&order_srv(&recs, &mut |_| 0))[0], "z");
        // pick 5 -> a; then remaining z(0), b(30): pick 5 -> b; then z
        assert_eq!(targets(&order_srv(&recs, &mut |_| 5)), ["a", "b", "z"]);
        // pick = total -> the last one with weight
        assert_eq!(targets(&order_srv(&recs, &mut |n| n))[0], "b");
        // a generator that overshoots is clamped
        assert_eq!(targets(&order_srv(&recs, &mut |_| u64::MAX))[0], "b");
    }

    #[test]
    fn weights_share_the_load_roughly() {
        // Deterministic xorshift so the test is reproducible.
        let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rng = move |n: u64| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s % (n + 1)
        };
        let recs = [
            rec(0, 75, "heavy"),
            rec(0, 25, "light"),
            rec(1, 100, "backup"),
        ];
        let mut heavy_first = 0;
        for _ in 0..4000 {
            let out = order_srv(&recs, &mut rng);
            assert_eq!(out[2].target, "backup");
            if out[0].target == "heavy" {
                heavy_first += 1;
            }
        }
        assert!((2800..3200).contains(&heavy_first), "{heavy_first}");
    }

    #[test]
    fn dot_targets_and_duplicates_are_dropped() {
        let recs = [rec(0, 0, ""), rec(0, 0, "dc1"), rec(0, 5, "DC1")];
        assert_eq!(targets(&order_srv(&recs, &mut |_| 0)), ["dc1"]);
        assert!(order_srv(&[], &mut |_| 0).is_empty());
    }

    #[test]
    fn site_dcs_first_then_the_rest_once() {
        let mut list = Vec::new();
        append_candidates(&mut list, vec![rec(0, 0, "dc2.example.test")], None);
        append_candidates(
            &mut list,
            vec![
                rec(0, 0, "dc1.example.test"),
                rec(0, 0, "DC2.example.test"),
                rec(0, 0, "127.0.0.1"),
            ],
            None,
        );
        let hosts: Vec<&str> = list.iter().map(|c| c.host.as_str()).collect();
        assert_eq!(hosts, ["dc2.example.test", "dc1.example.test"]);
        let mut tls = Vec::new();
        append_candidates(&mut tls, vec![rec(0, 0, "dc1.example.test")], Some(636));
        assert_eq!(tls[0].port, 636);
    }

    #[test]
    fn srv_names_with_and_without_site() {
        assert_eq!(
            srv_names("example.test.", None),
            ["_ldap._tcp.dc._msdcs.example.test"]
        );
        assert_eq!(
            srv_names("example.test", Some("Paris")),
            [
                "_ldap._tcp.Paris._sites.dc._msdcs.example.test",
                "_ldap._tcp.dc._msdcs.example.test"
            ]
        );
    }
}
