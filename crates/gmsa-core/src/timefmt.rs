//! UTC timestamps as RFC 3339 text and durations as short text, and LDAP GeneralizedTime back
//! to seconds, without a date library.

/// Formats seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A duration for a person: `29d 23h`, `5h 03m`, `4m 10s`, `42s`.
pub fn duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let (m, d) = (i64::from(m), i64::from(d));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// LDAP GeneralizedTime as AD and Samba send it (`20261129123456.0Z`: UTC, optional fraction)
/// to seconds since the epoch
/// (doctor reads a DC's clock with it).
pub fn parse_generalized_time(text: &str) -> Option<i64> {
    let t = text.strip_suffix('Z')?;
    let whole = t.split(['.', ',']).next()?;
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| whole[r].parse::<u32>().ok();
    let (y, mo, d) = (n(0..4)?, n(4..6)?, n(6..8)?);
    let (h, mi, s) = (n(8..10)?, n(10..12)?, n(12..14)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = match mo {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=12).contains(&mo) || !(1..=month_days).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let secs = i64::from(h * 3600 + mi * 60 + s);
    Some(days_from_civil(i64::from(y), mo, d) * 86_400 + secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4_294_967_295), "2106-02-07T06:28:15Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn days_round_trip() {
        for days in [-800_000, -1, 0, 1, 11_016, 19_675, 49_710, 800_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(duration(Duration::from_secs(42)), "42s");
        assert_eq!(duration(Duration::from_secs(250)), "4m 10s");
        assert_eq!(duration(Duration::from_secs(5 * 3600 + 180)), "5h 03m");
        assert_eq!(duration(Duration::from_secs(30 * 86_400 - 3600)), "29d 23h");
    }

    #[test]
    fn generalized_times() {
        assert_eq!(parse_generalized_time("19700101000000.0Z"), Some(0));
        assert_eq!(parse_generalized_time("20000301000000Z"), Some(951_868_800));
        assert_eq!(parse_generalized_time("20000229000000Z"), Some(951_782_400));
        assert_eq!(
            parse_generalized_time("20261129123456.0Z"),
            Some(1_795_955_696)
        );
        for bad in [
            "",
            "20261129123456",
            "2026112912345.0Z",
            "20261329123456.0Z",
            "2026112912345x.0Z",
            "20261129123456+0100",
            "20260229000000Z",
            "20260431000000Z",
        ] {
            assert_eq!(parse_generalized_time(bad), None, "{bad}");
        }
    }
}
