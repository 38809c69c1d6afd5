//! Calendar dates and instants, without reading any clock.
//!
//! Marrow stores instants as UTC in one fixed text form (`2026-11-24T09:30:00Z`), which sorts
//! correctly as text on both databases. The server owns the clock and hands `now` in.

use crate::FieldError;

/// A calendar date (proleptic Gregorian), e.g. a date of birth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

/// An instant, as whole seconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        _ => 28,
    }
}

// Days from 1970-01-01 to a civil date (H. Hinnant's `days_from_civil`, public-domain algorithm).
fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i32, u8, u8) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
    (y, m, d)
}

fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Date {
    /// Builds a date, refusing impossible ones (e.g. 31 April).
    pub fn from_ymd(year: i32, month: u8, day: u8) -> Option<Self> {
        if !(1800..=9999).contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Self { year, month, day })
    }

    /// Parses `YYYY-MM-DD`, naming `field` in the error.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        let bad = || FieldError::new(field, format!("{raw:?} is not a date; use YYYY-MM-DD"));
        let mut parts = raw.splitn(3, '-');
        let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let (Some(y), Some(m), Some(d)) = (digits(y), digits(m), digits(d)) else {
            return Err(bad());
        };
        Self::from_ymd(y, m, d).ok_or_else(bad)
    }

    /// The calendar year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The date on which `at` falls, in UTC.
    pub fn of(at: Timestamp) -> Self {
        let (year, month, day) = civil_from_days(at.0.div_euclid(86_400));
        Self { year, month, day }
    }

    /// Whole years from `self` (a birth date) to `on`.
    pub fn years_until(self, on: Date) -> i32 {
        let mut years = on.year - self.year;
        if (on.month, on.day) < (self.month, self.day) {
            years -= 1;
        }
        years
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Timestamp {
    /// The instant `secs` seconds after the Unix epoch.
    pub fn from_unix(secs: i64) -> Self {
        Self(secs)
    }

    /// Seconds since the Unix epoch.
    pub fn unix(self) -> i64 {
        self.0
    }

    /// This instant moved by `secs` seconds.
    pub fn plus_seconds(self, secs: i64) -> Self {
        Self(self.0 + secs)
    }

    /// Parses `YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]` (also with a space for `T`, as HTML
    /// `datetime-local` and people write it). A time without a zone is read as UTC.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        let bad = || {
            FieldError::new(field, format!("{raw:?} is not a date and time; use YYYY-MM-DDTHH:MM"))
        };
        if raw.len() < 16 || !raw.is_char_boundary(10) || !raw.is_char_boundary(11) {
            return Err(bad());
        }
        let date = Date::parse(field, &raw[..10]).map_err(|_| bad())?;
        if !matches!(&raw[10..11], "T" | "t" | " ") {
            return Err(bad());
        }
        let rest = &raw[11..];
        let (clock, offset_secs) = split_zone(rest).ok_or_else(bad)?;
        let mut hms = clock.split(':');
        let h: i64 = hms.next().filter(|s| s.len() == 2).and_then(digits).ok_or_else(bad)?;
        let m: i64 = hms.next().filter(|s| s.len() == 2).and_then(digits).ok_or_else(bad)?;
        let s: i64 = match hms.next() {
            None => 0,
            // Fractions of a second are accepted and dropped.
            Some(sec) => {
                let whole = sec.split('.').next().unwrap_or(sec);
                Some(whole).filter(|s| s.len() == 2).and_then(digits).ok_or_else(bad)?
            }
        };
        if hms.next().is_some() || h > 23 || m > 59 || s > 59 {
            return Err(bad());
        }
        let days = days_from_civil(date.year, date.month, date.day);
        Ok(Self(days * 86_400 + h * 3600 + m * 60 + s - offset_secs))
    }

    /// The fixed storage form, e.g. `2026-11-24T09:30:00Z`.
    pub fn to_rfc3339(self) -> String {
        let date = Date::of(self);
        let secs = self.0.rem_euclid(86_400);
        format!("{date}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
    }

    /// The value an HTML `datetime-local` input expects (`YYYY-MM-DDTHH:MM`, UTC).
    pub fn to_input_value(self) -> String {
        self.to_rfc3339()[..16].to_owned()
    }
}

fn split_zone(rest: &str) -> Option<(&str, i64)> {
    if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    if let Some(pos) = rest.rfind(['+', '-']) {
        let (clock, zone) = rest.split_at(pos);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let zone = &zone[1..];
        let (h, m) = zone.split_once(':').unwrap_or((zone.get(..2)?, zone.get(2..)?));
        let h: i64 = digits(h)?;
        let m: i64 = digits(m)?;
        if h > 14 || m > 59 {
            return None;
        }
        return Some((clock, sign * (h * 3600 + m * 60)));
    }
    Some((rest, 0))
}

impl std::fmt::Display for Timestamp {
    /// Shown to people as `2026-11-24 09:30 UTC`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.to_rfc3339();
        write!(f, "{} {} UTC", &text[..10], &text[11..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_text() {
        let d = Date::parse("dob", "1961-02-28").unwrap();
        assert_eq!(d.to_string(), "1961-02-28");
        assert!(Date::parse("dob", "2023-02-29").is_err(), "2023 is not a leap year");
        assert!(Date::parse("dob", "2024-02-29").is_ok());
        assert!(Date::parse("dob", "2024-4-01").is_err());
        assert_eq!(Date::parse("dob", "x").unwrap_err().field, "dob");
    }

    #[test]
    fn timestamps_parse_zones_and_print_utc() {
        let t = Timestamp::parse("at", "2026-11-24T10:30:00+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-24T09:30:00Z");
        let local = Timestamp::parse("at", "2026-11-24T09:30").unwrap();
        assert_eq!(t, local);
        assert_eq!(Timestamp::from_unix(0).to_rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp::parse("at", "2000-03-01T00:00:00Z").unwrap().unix(), 951_868_800);
        assert!(Timestamp::parse("at", "2026-11-24T24:00").is_err());
        assert!(Timestamp::parse("at", "2026-11-24").is_err());
    }

    #[test]
    fn age_counts_whole_years() {
        let dob = Date::parse("dob", "1960-06-15").unwrap();
        assert_eq!(dob.years_until(Date::parse("d", "2026-06-14").unwrap()), 65);
        assert_eq!(dob.years_until(Date::parse("d", "2026-06-15").unwrap()), 66);
    }

    #[test]
    fn civil_conversion_is_inverse_over_centuries() {
        for days in (-80_000..80_000).step_by(37) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
