//! Calendar dates (proleptic Gregorian, ISO 8601 `YYYY-MM-DD`), exact and timezone-free.

use std::fmt;

use super::digits::put_digits;

/// A calendar date between 1970-01-01 and 9999-12-31.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Days since 1970-01-01.
    days: i64,
}

const MAX_DAYS: i64 = 2_932_896; // 9999-12-31

/// Milliseconds in a day (UTC days have no leap seconds in unix time).
pub const MS_PER_DAY: u64 = 86_400_000;

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

impl Date {
    /// Parses exactly `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = &s[r];
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        let (y, m, d) = (digits(0..4)? as i64, digits(5..7)?, digits(8..10)?);
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || y < 1970 {
            return None;
        }
        Some(Date {
            days: days_from_civil(y, m, d),
        })
    }

    /// The date `days` days after 1970-01-01.
    pub fn from_days(days: i64) -> Option<Date> {
        (0..=MAX_DAYS).contains(&days).then_some(Date { days })
    }

    /// The UTC date of a unix time in seconds.
    pub fn from_unix_seconds(secs: u64) -> Date {
        Date {
            days: (secs / 86_400) as i64,
        }
    }

    /// The UTC date of a unix time in milliseconds.
    pub fn from_unix_ms(ms: u64) -> Date {
        Date::from_unix_seconds(ms / 1000)
    }

    /// Unix milliseconds of this day's first instant (00:00:00.000 UTC).
    pub fn start_ms(self) -> u64 {
        self.days as u64 * MS_PER_DAY
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        self.days
    }

    /// `self + n` days, if still in range.
    pub fn plus_days(self, n: i64) -> Option<Date> {
        Date::from_days(self.days + n)
    }

    /// The calendar year.
    pub fn year(self) -> i64 {
        civil_from_days(self.days).0
    }

    /// The month, 1 to 12.
    pub fn month(self) -> u32 {
        civil_from_days(self.days).1
    }

    /// The date of year `y`, month `m`, day `d`, if it exists and is in range.
    pub fn from_ymd(y: i64, m: u32, d: u32) -> Option<Date> {
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        Date::from_days(days_from_civil(y, m, d))
    }

    /// `YYYY-MM-DD` (a year is always of four digits: 1970 to 9999).
    fn text(&self) -> [u8; 10] {
        let (y, m, d) = civil_from_days(self.days);
        let mut text = *b"0000-00-00";
        put_digits(&mut text[0..4], y as u64);
        put_digits(&mut text[5..7], m as u64);
        put_digits(&mut text[8..10], d as u64);
        text
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !(0..=MAX_DAYS).contains(&self.days) {
            // Only a unix time past 9999 makes one (`from_unix_seconds`): five-digit years.
            let (y, m, d) = civil_from_days(self.days);
            return write!(f, "{y:04}-{m:02}-{d:02}");
        }
        f.write_str(std::str::from_utf8(&self.text()).expect("ascii digits"))
    }
}

/// RFC 3339 UTC text of a unix time in milliseconds, e.g. `2026-11-26T21:03:34.123Z`.
pub fn format_unix_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let day = Date::from_unix_seconds(secs);
    let s = secs % 86_400;
    if day.days > MAX_DAYS {
        // Past 9999-12-31 (no time kpcert records): the general formatting, five-digit years.
        return format!(
            "{day}T{:02}:{:02}:{:02}.{:03}Z",
            s / 3600,
            (s / 60) % 60,
            s % 60,
            ms % 1000
        );
    }
    let mut text = *b"0000-00-00T00:00:00.000Z";
    text[..10].copy_from_slice(&day.text());
    put_digits(&mut text[11..13], s / 3600);
    put_digits(&mut text[14..16], (s / 60) % 60);
    put_digits(&mut text[17..19], s % 60);
    put_digits(&mut text[20..23], ms % 1000);
    String::from_utf8(text.to_vec()).expect("ascii digits")
}

/// Parses RFC 3339 UTC text `YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z` (what [`format_unix_ms`] writes)
/// into unix milliseconds; `None` for anything else, or a time before 1970.
pub fn parse_unix_ms(s: &str) -> Option<u64> {
    let (date, time) = s.split_once('T')?;
    let day = Date::parse(date)?;
    let time = time.strip_suffix('Z')?;
    let (hms, frac) = match time.split_once('.') {
        Some((hms, frac)) => (hms, frac),
        None => (time, ""),
    };
    let parts: Vec<&str> = hms.split(':').collect();
    let [h, m, sec] = parts.as_slice() else {
        return None;
    };
    let field = |t: &str, max: u64| -> Option<u64> {
        (t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse::<u64>().ok())
            .flatten()
            .filter(|v| *v <= max)
    };
    let (h, m, sec) = (field(h, 23)?, field(m, 59)?, field(sec, 59)?);
    let ms = match frac.len() {
        0 => 0,
        1..=3 if frac.bytes().all(|b| b.is_ascii_digit()) => {
            frac.parse::<u64>().ok()? * 10u64.pow(3 - frac.len() as u32)
        }
        _ => return None,
    };
    if day.days() < 0 {
        return None;
    }
    Some(day.start_ms() + ((h * 60 + m) * 60 + sec) * 1000 + ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_round_trip_and_nothing_else_parses() {
        for ms in [0, 1_795_000_000_123, 1_795_000_000_000] {
            assert_eq!(parse_unix_ms(&format_unix_ms(ms)), Some(ms));
        }
        assert_eq!(
            parse_unix_ms("2026-12-02T10:00:00.5Z"),
            parse_unix_ms("2026-12-02T10:00:00.500Z")
        );
        for bad in [
            "2026-12-02",
            "2026-12-02T10:00:00",
            "2026-12-02T10:00:00+01:00",
            "2026-12-02T24:00:00Z",
            "2026-12-02T10:60:00Z",
            "2026-12-02T10:00:00.1234Z",
            "2026-12-02 10:00:00Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_unix_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn parse_and_display_round_trip() {
        for s in [
            "1970-01-01",
            "2000-02-29",
            "2026-11-26",
            "2027-01-25",
            "9999-12-31",
        ] {
            assert_eq!(Date::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(Date::parse("1970-01-01").unwrap().days(), 0);
        assert_eq!(Date::parse("2026-11-26").unwrap().days(), 20_783);
    }

    #[test]
    fn invalid_dates_are_rejected() {
        for s in [
            "2026-02-29",
            "1900-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-01-32",
            "26-01-01",
            "2026/01/01",
            "2026-1-01",
            "+026-01-01",
            "1969-12-31",
            "",
        ] {
            assert_eq!(Date::parse(s), None, "{s}");
        }
    }

    #[test]
    fn arithmetic() {
        let d = Date::parse("2026-11-26").unwrap();
        assert_eq!(d.plus_days(60).unwrap().to_string(), "2027-01-25");
        assert_eq!(d.year(), 2026);
        assert_eq!(
            Date::from_unix_seconds(1_795_651_200).to_string(),
            "2026-11-26"
        );
        assert_eq!(
            format_unix_ms(1_795_651_200_123 + 3_723_000),
            "2026-11-26T01:02:03.123Z"
        );
    }

    /// The hand-written digits give what the formatting machinery gave, over the whole range
    /// and past it.
    #[test]
    fn dates_and_times_are_written_as_the_formatter_writes_them() {
        let general = |days: i64| {
            let (y, m, d) = civil_from_days(days);
            format!("{y:04}-{m:02}-{d:02}")
        };
        for days in (0..=MAX_DAYS)
            .step_by(997)
            .chain([0, 59, 60, MAX_DAYS, MAX_DAYS + 1])
        {
            assert_eq!(Date { days }.to_string(), general(days), "{days}");
        }
        for ms in [
            0,
            999,
            1_000,
            86_399_999,
            1_795_651_203_007,
            253_402_300_799_999,
        ] {
            let secs = ms / 1000;
            let s = secs % 86_400;
            let want = format!(
                "{}T{:02}:{:02}:{:02}.{:03}Z",
                general((secs / 86_400) as i64),
                s / 3600,
                (s / 60) % 60,
                s % 60,
                ms % 1000
            );
            assert_eq!(format_unix_ms(ms), want);
        }
        assert_eq!(
            format_unix_ms(253_402_300_800_000),
            "10000-01-01T00:00:00.000Z"
        );
    }
}
