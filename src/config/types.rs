//! Value types used by the configuration: human-readable durations and redacted secrets.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A duration written as `"30s"`, `"5m"`, `"24h"`, `"7d"` or `"250ms"`, compound (`"1h30m"`,
/// `"1h 30m"`) or fractional (`"1.5h"`, `"0.25s"`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct HumanDuration(pub Duration);

/// Examples every duration error ends with, so the fix is in the message.
const DURATION_EXAMPLES: &str = "e.g. \"250ms\", \"90s\", \"5m\", \"1h30m\", \"1.5h\", \"7d\"";

impl HumanDuration {
    /// `s` whole seconds.
    pub fn from_secs(s: u64) -> HumanDuration {
        HumanDuration(Duration::from_secs(s))
    }

    /// Whole milliseconds, saturating at `i64::MAX`.
    pub fn as_millis_i64(self) -> i64 {
        i64::try_from(self.0.as_millis()).unwrap_or(i64::MAX)
    }

    /// Parses one or more `<number><unit>` parts (`"1h30m"`, `"1.5h"`, `"90s"`). Units and
    /// whole-number parts are `humantime`'s (`ms`, `s`, `m`, `h`, `d`, `w` and their long
    /// forms); a part with a decimal fraction is scaled here, since humantime takes integers
    /// only. A bare number, an unknown unit or an overflow is an error naming the value.
    pub fn parse(s: &str) -> Result<HumanDuration, String> {
        let s = s.trim();
        let d = if s.contains('.') {
            parse_fractional(s)
        } else {
            humantime::parse_duration(s).map_err(|e| match e {
                humantime::DurationError::NumberOverflow => String::from("it is too large"),
                e => e.to_string(),
            })
        };
        d.map(HumanDuration)
            .map_err(|e| format!("duration {s:?}: {e} ({DURATION_EXAMPLES})"))
    }
}

/// `"1.5h"`, `"1h 0.5m"`: each `<decimal><unit>` part is the unit's length (from humantime)
/// times the number, summed without floating-point drift above nanoseconds.
fn parse_fractional(s: &str) -> Result<Duration, String> {
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_end);
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.' || c.is_whitespace())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        if num.is_empty() {
            return Err(format!("expected a number before {unit:?}"));
        }
        if unit.is_empty() {
            return Err(String::from("time unit needed"));
        }
        let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
        if frac.contains('.') || (whole.is_empty() && frac.is_empty()) {
            return Err(format!("{num:?} is not a number"));
        }
        let per = humantime::parse_duration(&format!("1{unit}")).map_err(|e| e.to_string())?;
        let whole: u32 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| String::from("it is too large"))?
        };
        // Up to nine fraction digits: nanosecond resolution for any unit up to a year.
        let digits = frac.len().min(9);
        let scale = 10u64.pow(digits as u32);
        let frac_n: u64 = if digits == 0 {
            0
        } else {
            frac[..digits]
                .parse()
                .map_err(|_| format!("{num:?} is not a number"))?
        };
        let part = per
            .checked_mul(whole)
            .and_then(|w| {
                let nanos = per.as_nanos().checked_mul(u128::from(frac_n))? / u128::from(scale);
                w.checked_add(Duration::from_nanos(u64::try_from(nanos).ok()?))
            })
            .ok_or_else(|| String::from("it is too large"))?;
        total = total
            .checked_add(part)
            .ok_or_else(|| String::from("it is too large"))?;
        rest = tail.trim_start();
    }
    Ok(total)
}

impl fmt::Debug for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        HumanDuration::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A secret value (routing key, token). `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself; call only where it is sent, never where it is logged.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_duration_parses_units() {
        assert_eq!(
            HumanDuration::parse("5m").unwrap().0,
            Duration::from_secs(300)
        );
        assert_eq!(
            HumanDuration::parse("250ms").unwrap().0,
            Duration::from_millis(250)
        );
        assert_eq!(
            HumanDuration::parse("2d").unwrap().0,
            Duration::from_secs(172_800)
        );
        assert!(HumanDuration::parse("5").is_err());
        assert!(HumanDuration::parse("m5").is_err());
        assert!(HumanDuration::parse("5 fortnights").is_err());
    }

    #[test]
    fn human_duration_parses_compound_and_fractional_values() {
        let secs = |s: &str| HumanDuration::parse(s).unwrap().0;
        assert_eq!(secs("1h30m"), Duration::from_secs(5400));
        assert_eq!(secs("1h 30m"), Duration::from_secs(5400));
        assert_eq!(secs("1.5h"), Duration::from_secs(5400));
        assert_eq!(secs("90s"), Duration::from_secs(90));
        assert_eq!(secs("0.25s"), Duration::from_millis(250));
        assert_eq!(secs(".5m"), Duration::from_secs(30));
        assert_eq!(secs("1.5d 2h"), Duration::from_secs(36 * 3600 + 7200));
        for bad in ["1.5", "1..5h", "1.5x", "h", "1.5h30", "."] {
            let e = HumanDuration::parse(bad).unwrap_err();
            assert!(
                e.contains(&format!("{bad:?}")) && e.contains("1h30m"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn human_duration_too_large_is_an_error_not_an_overflow() {
        let e = HumanDuration::parse("999999999999999d").unwrap_err();
        assert!(e.contains("too large"), "{e}");
        let e = HumanDuration::parse("99999999999999.5d").unwrap_err();
        assert!(e.contains("too large"), "{e}");
        assert!(HumanDuration::parse("36500d").is_ok());
    }

    #[test]
    fn secret_is_masked_in_debug() {
        let s = Secret::new("R0UTING-KEY");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert!(!format!("{s}").contains("R0UTING"));
        assert_eq!(s.expose(), "R0UTING-KEY");
    }
}
