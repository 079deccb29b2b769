//! RFC 3339 timestamps to Unix seconds.
//!
//! Written out rather than taken from chrono or time: evaluation needs only this one format, and
//! those crates would add tens of kilobytes to the wasm engine.

/// Parses an RFC 3339 timestamp (`2024-05-01T12:00:00Z`, `2024-05-01 12:00:00.25+02:00`) or a
/// bare date (`2024-05-01`, midnight UTC) into whole seconds since the Unix epoch.
///
/// Fractions of a second are dropped, as Flipt's engine compares at whole seconds.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let (year, month, day) = parse_date(bytes.get(..10)?)?;
    let days = days_from_civil(year, month, day);
    if bytes.len() == 10 {
        return Some(days * 86_400);
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    let time = bytes.get(11..19)?;
    if time[2] != b':' || time[5] != b':' {
        return None;
    }
    let hour = digits(&time[0..2])?;
    let minute = digits(&time[3..5])?;
    // 60 admits a leap second, which RFC 3339 allows.
    let second = digits(&time[6..8])?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &bytes[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n_digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if n_digits == 0 {
            return None;
        }
        rest = &fraction[n_digits..];
    }
    let offset_seconds = parse_offset(rest)?;
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second - offset_seconds)
}

/// `YYYY-MM-DD`, with a day that exists in that month.
fn parse_date(bytes: &[u8]) -> Option<(i64, i64, i64)> {
    if bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year = digits(&bytes[0..4])?;
    let month = digits(&bytes[5..7])?;
    let day = digits(&bytes[8..10])?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some((year, month, day))
}

/// `Z`, `z` or `+HH:MM` / `-HH:MM`, and nothing after it.
fn parse_offset(bytes: &[u8]) -> Option<i64> {
    match bytes {
        [b'Z' | b'z'] => Some(0),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = digits(&[*h1, *h2])?;
            let minutes = digits(&[*m1, *m2])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = hours * 3_600 + minutes * 60;
            Some(if *sign == b'-' { -seconds } else { seconds })
        }
        _ => None,
    }
}

fn digits(bytes: &[u8]) -> Option<i64> {
    bytes.iter().try_fold(0i64, |acc, byte| {
        byte.is_ascii_digit()
            .then(|| acc * 10 + i64::from(byte - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Formats seconds and nanoseconds since the Unix epoch as RFC 3339 in UTC, with the fraction
/// trimmed of trailing zeros (Go's `RFC3339Nano`, as Flipt's responses carry it).
pub fn format_timestamp(seconds: i64, nanos: u32) -> String {
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let mut text = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        second_of_day / 3_600,
        second_of_day / 60 % 60,
        second_of_day % 60
    );
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

/// The date of a day number since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::{format_timestamp, parse_timestamp};

    #[test]
    fn formats_and_parses_back() {
        assert_eq!(format_timestamp(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_timestamp(1_136_214_245, 120_000_000),
            "2006-01-02T15:04:05.12Z"
        );
        for seconds in [-86_401, -1, 0, 951_782_400, 4_102_444_800, 253_402_300_799] {
            let text = format_timestamp(seconds, 0);
            assert_eq!(parse_timestamp(&text), Some(seconds), "{text}");
        }
    }

    #[test]
    fn epoch_and_known_instants() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp("2006-01-02T15:04:05Z"), Some(1_136_214_245));
        assert_eq!(parse_timestamp("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(parse_timestamp("1969-12-31T23:59:59Z"), Some(-1));
    }

    #[test]
    fn offsets_fractions_and_separators() {
        let utc = parse_timestamp("2024-06-01T10:00:00Z");
        assert_eq!(parse_timestamp("2024-06-01T12:00:00+02:00"), utc);
        assert_eq!(parse_timestamp("2024-06-01T07:30:00-02:30"), utc);
        assert_eq!(parse_timestamp("2024-06-01t10:00:00.999999z"), utc);
        assert_eq!(parse_timestamp("2024-06-01 10:00:00.5Z"), utc);
    }

    #[test]
    fn bare_date_is_midnight_utc() {
        assert_eq!(
            parse_timestamp("2024-06-01"),
            parse_timestamp("2024-06-01T00:00:00Z")
        );
    }

    #[test]
    fn rejects_malformed_text() {
        for text in [
            "",
            "2024",
            "2024-13-01",
            "2023-02-29",
            "2024-06-31T00:00:00Z",
            "2024-06-01T24:00:00Z",
            "2024-06-01T10:00:00",
            "2024-06-01T10:00:00.Z",
            "2024-06-01T10:00:00+0200",
            "2024-06-01T10:00:00Zjunk",
            "2024-06-01X10:00:00Z",
            "２０２４-06-01",
            "yesterday",
        ] {
            assert_eq!(parse_timestamp(text), None, "{text:?}");
        }
    }
}
