//! Value types used by the configuration: human-readable durations and redacted secrets.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A duration written as `"30s"`, `"5m"`, `"24h"`, `"7d"` or `"250ms"`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn from_secs(s: u64) -> HumanDuration {
        HumanDuration(Duration::from_secs(s))
    }

    pub fn as_millis_i64(self) -> i64 {
        i64::try_from(self.0.as_millis()).unwrap_or(i64::MAX)
    }

    /// Parses `<integer><unit>` with unit one of `ms`, `s`, `m`, `h`, `d`.
    pub fn parse(s: &str) -> Result<HumanDuration, String> {
        let s = s.trim();
        let split = s
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("duration {s:?} has no unit (use ms, s, m, h or d)"))?;
        let (num, unit) = s.split_at(split);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("duration {s:?} does not start with a whole number"))?;
        let per = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            other => return Err(format!("duration {s:?} has unknown unit {other:?}")),
        };
        let ms = n
            .checked_mul(per)
            .ok_or_else(|| format!("duration {s:?} is too large"))?;
        Ok(HumanDuration(Duration::from_millis(ms)))
    }
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
        assert!(HumanDuration::parse("5 weeks").is_err());
    }

    #[test]
    fn human_duration_too_large_is_an_error_not_an_overflow() {
        let e = HumanDuration::parse("999999999999999d").unwrap_err();
        assert!(e.contains("too large"), "{e}");
        assert!(HumanDuration::parse("18446744073709551615ms").is_ok());
    }

    #[test]
    fn secret_is_masked_in_debug() {
        let s = Secret::new("R0UTING-KEY");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert!(!format!("{s}").contains("R0UTING"));
        assert_eq!(s.expose(), "R0UTING-KEY");
    }
}
