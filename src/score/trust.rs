//! The bot discount: how much one mention counts toward volume. Mentions from new or
//! follower-less accounts count less, so a bot farm's burst does not read as a crisis.
//!
//! Pure and deterministic: the author's profile and the mention's event time in, a weight out.

use crate::domain::{Author, EventTime};

/// Followers below this count as "near zero".
pub const LOW_FOLLOWERS: u64 = 5;
/// Weight of a mention from an account younger than the configured new-account age.
pub const NEW_ACCOUNT_WEIGHT: f32 = 0.2;
/// Weight of a mention from an account with fewer than [`LOW_FOLLOWERS`] followers.
pub const LOW_FOLLOWERS_WEIGHT: f32 = 0.5;
/// Weight of a mention from a new account that also has almost no followers.
pub const NEW_AND_LOW_WEIGHT: f32 = 0.1;

/// Bot/spam discount in `[0, 1]` for a mention's author at event time `now`.
///
/// * account younger than `new_account_age_ms` (created after `now` included) and fewer than
///   [`LOW_FOLLOWERS`] followers: [`NEW_AND_LOW_WEIGHT`] (0.1);
/// * younger only: [`NEW_ACCOUNT_WEIGHT`] (0.2);
/// * fewer than [`LOW_FOLLOWERS`] followers only: [`LOW_FOLLOWERS_WEIGHT`] (0.5);
/// * otherwise 1.0.
///
/// An unknown `created_at` is not penalised. `followers` is 0 when the source does not say,
/// which is penalised like a real zero: sources that omit it are rare and spam-heavy.
pub fn bot_weight(author: &Author, now: EventTime, new_account_age_ms: i64) -> f32 {
    let young = author
        .created_at
        .is_some_and(|c| now.millis().saturating_sub(c.millis()) < new_account_age_ms);
    let low = author.followers < LOW_FOLLOWERS;
    match (young, low) {
        (true, true) => NEW_AND_LOW_WEIGHT,
        (true, false) => NEW_ACCOUNT_WEIGHT,
        (false, true) => LOW_FOLLOWERS_WEIGHT,
        (false, false) => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_weight_cases() {
        let day = 86_400_000;
        let now = EventTime(1_772_409_600_000);
        let author = |followers, created: Option<i64>| Author {
            id: "a".into(),
            handle: "a".into(),
            followers,
            created_at: created.map(|d| EventTime(now.millis() - d * day)),
        };
        let age = 30 * day;
        assert_eq!(bot_weight(&author(1000, Some(400)), now, age), 1.0);
        assert_eq!(bot_weight(&author(1000, None), now, age), 1.0);
        assert_eq!(
            bot_weight(&author(1000, Some(2)), now, age),
            NEW_ACCOUNT_WEIGHT
        );
        assert_eq!(
            bot_weight(&author(4, Some(400)), now, age),
            LOW_FOLLOWERS_WEIGHT
        );
        assert_eq!(bot_weight(&author(0, None), now, age), LOW_FOLLOWERS_WEIGHT);
        assert_eq!(
            bot_weight(&author(1, Some(1)), now, age),
            NEW_AND_LOW_WEIGHT
        );
        assert_eq!(bot_weight(&author(5, Some(30)), now, age), 1.0);
        // Created "in the future" (clock skew) counts as new.
        assert_eq!(
            bot_weight(&author(100, Some(-1)), now, age),
            NEW_ACCOUNT_WEIGHT
        );
    }
}
