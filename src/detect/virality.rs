//! Virality signals over time: count tail probabilities, exponential growth and a
//! near-duplicate tracker.
//!
//! Role: the numeric helpers behind the detector's decisions.
//! * [`negbin_upper_tail`] / [`poisson_upper_tail`]: how surprising a 15-minute count is
//!   against the seasonal baseline;
//! * [`growth`]: growth rate and doubling time of the per-minute counts;
//! * [`DuplicateTracker`]: copy-paste campaigns, from each mention's SimHash (computed by
//!   `score::simhash`, carried in `Scored`).
//!
//! Inputs and outputs are plain numbers.
//!
//! Invariants: every function is pure and deterministic (FxHash is unseeded; no clocks, no
//! randomness); probabilities are always in `[0, 1]` and never NaN, whatever the inputs; the
//! tracker has fixed size (no heap).
//!
//! Tail computation: both tails are computed as regularised incomplete functions in log space,
//! with `ln Γ` from a Lanczos approximation (g = 7, 9 terms, ~1e-15 relative):
//! * Poisson: `P(X ≥ n | λ) = P(n, λ)`, the regularised lower incomplete gamma function
//!   (series for `λ < n + 1`, Lentz continued fraction for its complement otherwise);
//! * negative binomial (mean μ, dispersion k, success probability `p = k / (k + μ)`):
//!   `P(X ≥ n) = 1 − I_p(k, n) = I_{1−p}(n, k)`, the regularised incomplete beta function
//!   (Lentz continued fraction, with the symmetry `I_x(a, b) = 1 − I_{1−x}(b, a)` on the slowly
//!   converging side); `1 − p = μ / (k + μ)` is computed directly, never as a difference.
//!
//! `observed` is a weighted (possibly fractional) count. It is used as the real shape
//! parameter `n` of those functions, which for integer `n` are exactly the discrete tails and in
//! between interpolate smoothly and monotonically (no floor/ceil steps when bot weights make
//! counts fractional). When the dispersion makes no measurable difference
//! (`(n + μ)² / k < 1e-6`) the negative binomial tail is the Poisson one.

const EPS: f64 = 1e-15;
const TINY: f64 = 1e-300;
const MAX_ITER: usize = 100_000;

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        let s = (std::f64::consts::PI * x).sin();
        return std::f64::consts::PI.ln() - s.abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularised lower incomplete gamma P(a, x), a > 0, x ≥ 0.
fn gamma_p(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let ln_pre = -x + a * x.ln() - ln_gamma(a);
    if x < a + 1.0 {
        // Series: P = e^{-x} x^a / Γ(a) · Σ x^k / (a (a+1) … (a+k)).
        let mut ap = a;
        let mut del = 1.0 / a;
        let mut sum = del;
        for _ in 0..MAX_ITER {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * EPS {
                break;
            }
        }
        (ln_pre + sum.ln()).exp()
    } else {
        // Continued fraction for Q = 1 − P (modified Lentz).
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..MAX_ITER {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            let del = lentz_step(&mut c, &mut d, an, b);
            h *= del;
            if (del - 1.0).abs() < EPS {
                break;
            }
        }
        1.0 - (ln_pre.exp() * h)
    }
}

/// One step of the modified Lentz algorithm for a continued fraction term `an / (bn + …)`:
/// updates `c` and `d` (kept away from zero) and returns the factor to multiply in.
fn lentz_step(c: &mut f64, d: &mut f64, an: f64, bn: f64) -> f64 {
    *d = an * *d + bn;
    if d.abs() < TINY {
        *d = TINY;
    }
    *c = bn + an / *c;
    if c.abs() < TINY {
        *c = TINY;
    }
    *d = 1.0 / *d;
    *d * *c
}

/// Continued fraction of the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..MAX_ITER {
        let m = m as f64;
        let m2 = 2.0 * m;
        // Even then odd term of the fraction.
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        h *= lentz_step(&mut c, &mut d, aa, 1.0);
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        let del = lentz_step(&mut c, &mut d, aa, 1.0);
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// Regularised incomplete beta I_x(a, b) for a, b > 0, with `x` and `1 − x` both given (so
/// that neither is formed by cancellation).
fn beta_inc(a: f64, b: f64, x: f64, one_minus_x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if one_minus_x <= 0.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * one_minus_x.ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        (ln_front.exp() * beta_cf(a, b, x) / a).clamp(0.0, 1.0)
    } else {
        (1.0 - ln_front.exp() * beta_cf(b, a, one_minus_x) / b).clamp(0.0, 1.0)
    }
}

/// Common argument handling; `Some(p)` when the answer is decided without computation.
fn trivial_tail(observed: f64, mean: f64) -> Option<f64> {
    if observed.is_nan() || observed <= 0.0 {
        return Some(1.0);
    }
    if observed.is_infinite() {
        return Some(0.0);
    }
    if mean.is_nan() || mean <= 0.0 {
        return Some(0.0);
    }
    if mean.is_infinite() {
        return Some(1.0);
    }
    None
}

/// `P(X ≥ observed)` for a Poisson variable with mean `mean`.
///
/// Returns 1.0 for `observed ≤ 0` (or NaN), 0.0 for a non-positive mean. A fractional
/// `observed` interpolates monotonically between the integer tails (see the module docs).
pub fn poisson_upper_tail(observed: f64, mean: f64) -> f64 {
    if let Some(p) = trivial_tail(observed, mean) {
        return p;
    }
    let p = gamma_p(observed, mean);
    if p.is_nan() {
        return if observed > mean { 0.0 } else { 1.0 };
    }
    p.clamp(0.0, 1.0)
}

/// `P(X ≥ observed)` for a negative binomial with mean `mean` and dispersion `k` (variance =
/// mean + mean²/k).
///
/// Numerically stable for `observed` up to ~1e6 and `mean` down to 1e-3 and beyond (log-space
/// incomplete beta). Returns 1.0 for `observed ≤ 0` (or NaN), 0.0 for a non-positive mean; a
/// non-positive, NaN or infinite `k` means no overdispersion (the Poisson tail). A fractional
/// `observed` interpolates monotonically between the integer tails.
pub fn negbin_upper_tail(observed: f64, mean: f64, k: f64) -> f64 {
    if let Some(p) = trivial_tail(observed, mean) {
        return p;
    }
    if k.is_nan() || k <= 0.0 || k.is_infinite() {
        return poisson_upper_tail(observed, mean);
    }
    let span = observed + mean;
    if span * span / k < 1e-6 {
        return poisson_upper_tail(observed, mean);
    }
    let q = mean / (k + mean);
    let p = k / (k + mean);
    let t = beta_inc(observed, k, q, p);
    if t.is_nan() {
        return if observed > mean { 0.0 } else { 1.0 };
    }
    t
}

/// Exponential growth of a per-minute series.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Growth {
    /// Least-squares slope of ln(count + 1) per minute.
    pub rate_per_min: f64,
    /// ln 2 / rate in seconds, when the series is growing and not trivially small.
    pub doubling_time_s: Option<f64>,
}

/// Values of the series used by the growth fit (the trailing ones).
pub const GROWTH_FIT_MINUTES: usize = 15;
/// The last [`GROWTH_RECENT_MINUTES`] values must sum to at least this for a doubling time.
pub const GROWTH_MIN_RECENT: f64 = 10.0;
pub const GROWTH_RECENT_MINUTES: usize = 10;

/// Exponential growth of per-minute counts (oldest first).
///
/// Fits `ln(count + 1)` against the minute by least squares over the last
/// [`GROWTH_FIT_MINUTES`] values (all of them when fewer; at least 3 are needed, else the
/// default). `rate_per_min` is the slope; `doubling_time_s = ln 2 / slope · 60` only when the
/// slope is positive and the last [`GROWTH_RECENT_MINUTES`] counts sum to at least
/// [`GROWTH_MIN_RECENT`]. Negative or NaN counts count as zero. The `+ 1` damps noise at small
/// counts and biases the rate slightly low (doubling times slightly long) there.
pub fn growth(counts: &[f64]) -> Growth {
    let tail = &counts[counts.len().saturating_sub(GROWTH_FIT_MINUTES)..];
    let n = tail.len();
    if n < 3 {
        return Growth::default();
    }
    let clean = |c: f64| if c.is_nan() || c < 0.0 { 0.0 } else { c };
    let nf = n as f64;
    let mean_x = (nf - 1.0) / 2.0;
    let mean_y = tail.iter().map(|&c| (clean(c) + 1.0).ln()).sum::<f64>() / nf;
    let mut sxy = 0.0;
    let mut sxx = 0.0;
    for (i, &c) in tail.iter().enumerate() {
        let dx = i as f64 - mean_x;
        sxy += dx * ((clean(c) + 1.0).ln() - mean_y);
        sxx += dx * dx;
    }
    let slope = sxy / sxx;
    if !slope.is_finite() {
        return Growth::default();
    }
    let recent: f64 = counts[counts.len().saturating_sub(GROWTH_RECENT_MINUTES)..]
        .iter()
        .map(|&c| clean(c))
        .sum();
    let doubling_time_s = (slope > 1e-9 && recent >= GROWTH_MIN_RECENT)
        .then(|| std::f64::consts::LN_2 / slope * 60.0);
    Growth {
        rate_per_min: slope,
        doubling_time_s,
    }
}

/// A thread's reactions in its fit window must sum to at least this for a doubling time.
pub const THREAD_GROWTH_MIN_COUNT: f64 = 10.0;

/// Exponential growth of a thread's per-minute reaction counts (oldest first), fitted by
/// maximum likelihood: counts are Poisson with rate `exp(a + b·t)`, `b` found by bisection on
/// the profile score `Σ c·t − C · Σ t·e^{bt} / Σ e^{bt}` (decreasing in `b`), within ±1 per
/// minute.
///
/// [`growth`]'s least squares on `ln(count + 1)` over 15 minutes suits a busy series; a story
/// that starts with a reaction every few minutes is mostly zeros and ones there, and the `+ 1`
/// flattens it: a thread doubling every 24 minutes read as not doubling within the hour until
/// it had dozens of reactions. The Poisson fit uses every minute given (a thread's last half
/// hour, or its life when shorter) and weighs zeros as what they are. `doubling_time_s` needs at least 3
/// minutes, [`THREAD_GROWTH_MIN_COUNT`] counts in all and a positive slope.
pub fn thread_growth(counts: &[f64]) -> Growth {
    let n = counts.len();
    let clean = |c: f64| if c.is_nan() || c < 0.0 { 0.0 } else { c };
    let total: f64 = counts.iter().map(|&c| clean(c)).sum();
    if n < 3 || total <= 0.0 {
        return Growth::default();
    }
    // Centred minutes keep e^{bt} in range over the whole bracket.
    let mid = (n as f64 - 1.0) / 2.0;
    let t = |i: usize| i as f64 - mid;
    let sum_ct: f64 = counts
        .iter()
        .enumerate()
        .map(|(i, &c)| clean(c) * t(i))
        .sum();
    let score = |b: f64| {
        let (mut se, mut ste) = (0.0, 0.0);
        for i in 0..n {
            let e = (b * t(i)).exp();
            se += e;
            ste += t(i) * e;
        }
        sum_ct - total * ste / se
    };
    let (mut lo, mut hi) = (-1.0_f64, 1.0_f64);
    for _ in 0..40 {
        let m = 0.5 * (lo + hi);
        if score(m) > 0.0 {
            lo = m;
        } else {
            hi = m;
        }
    }
    let slope = 0.5 * (lo + hi);
    let doubling_time_s = (slope > 1e-9 && total >= THREAD_GROWTH_MIN_COUNT)
        .then(|| std::f64::consts::LN_2 / slope * 60.0);
    Growth {
        rate_per_min: slope,
        doubling_time_s,
    }
}

/// Texts with fewer words than this are never near-duplicates.
pub const MIN_DUPLICATE_WORDS: usize = 4;
/// Largest SimHash distance (bits) at which two texts count as near-duplicates.
///
/// Small on purpose: it catches copies that differ in case, punctuation, numbers, handles and
/// URLs (all ignored by `score::simhash`) and long texts with a word changed (a one-word edit in a
/// 60-word text moves ≤ 3 bits about 95 % of the time). On tweet-length texts (15–20 words) a
/// one-word edit typically moves 3–7 bits and is usually not flagged: SimHash distance tracks
/// the angle between the word vectors, ≈ 64 · arccos(1 − 1/n) / π bits for n words.
pub const DUPLICATE_HAMMING: u32 = 3;
/// Recent texts remembered by a [`DuplicateTracker`].
pub const DUPLICATE_RING: usize = 128;

/// Flags texts that nearly repeat one of the last [`DUPLICATE_RING`] texts (of at least
/// [`MIN_DUPLICATE_WORDS`] words). Fixed size: a ring of SimHashes, oldest overwritten.
/// Read back from a checkpoint only when `len` and `next` fit the ring.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "RawDuplicateTracker")]
pub struct DuplicateTracker {
    #[serde(with = "serde_big_array::BigArray")]
    ring: [u64; DUPLICATE_RING],
    len: usize,
    next: usize,
}

/// A [`DuplicateTracker`] as a checkpoint holds it, before its bounds are checked.
#[derive(serde::Deserialize)]
struct RawDuplicateTracker {
    #[serde(with = "serde_big_array::BigArray")]
    ring: [u64; DUPLICATE_RING],
    len: usize,
    next: usize,
}

impl TryFrom<RawDuplicateTracker> for DuplicateTracker {
    type Error = String;

    fn try_from(r: RawDuplicateTracker) -> Result<Self, String> {
        if r.len > DUPLICATE_RING || r.next >= DUPLICATE_RING {
            return Err(format!(
                "a duplicate ring of {DUPLICATE_RING} holds {} texts with its next slot at {}",
                r.len, r.next
            ));
        }
        Ok(DuplicateTracker {
            ring: r.ring,
            len: r.len,
            next: r.next,
        })
    }
}

impl Default for DuplicateTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl DuplicateTracker {
    pub fn new() -> DuplicateTracker {
        DuplicateTracker {
            ring: [0; DUPLICATE_RING],
            len: 0,
            next: 0,
        }
    }

    /// Records a text by its SimHash `h` (built from `words` words) and returns whether it is
    /// within [`DUPLICATE_HAMMING`] bits of one of the recent texts (exact duplicates included).
    /// Texts of fewer than [`MIN_DUPLICATE_WORDS`] words (plain reposts, emoji-only replies)
    /// return false and are not recorded.
    pub fn observe(&mut self, h: u64, words: usize) -> bool {
        if words < MIN_DUPLICATE_WORDS {
            return false;
        }
        let dup = self.ring[..self.len]
            .iter()
            .any(|&r| (r ^ h).count_ones() <= DUPLICATE_HAMMING);
        self.ring[self.next] = h;
        self.next = (self.next + 1) % DUPLICATE_RING;
        self.len = (self.len + 1).min(DUPLICATE_RING);
        dup
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_duplicate_ring_read_back_out_of_its_bounds_is_refused() {
        let t = DuplicateTracker::new();
        let text = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<DuplicateTracker>(&text).unwrap(), t);
        for bad in [
            text.replace("\"len\":0", "\"len\":129"),
            text.replace("\"next\":0", "\"next\":128"),
        ] {
            assert_ne!(bad, text);
            assert!(serde_json::from_str::<DuplicateTracker>(&bad).is_err());
        }
    }

    use super::*;

    fn obs(t: &mut DuplicateTracker, text: &str) -> bool {
        let (h, words) = crate::score::simhash::simhash_counted(text);
        t.observe(h, words)
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * a.abs().max(b.abs()) + 1e-300
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        let mut f = 1.0f64;
        for n in 1..30 {
            f *= n as f64;
            assert!(close(ln_gamma(n as f64 + 1.0), f.ln(), 1e-12), "n={n}");
        }
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-12
        ));
    }

    #[test]
    fn known_poisson_values() {
        let p = poisson_upper_tail(10.0, 2.0);
        assert!(close(p, 4.649_807_501_024e-5, 1e-6), "{p}");
        let p = poisson_upper_tail(1.0, 1.0);
        assert!(close(p, 1.0 - (-1.0f64).exp(), 1e-12), "{p}");
        // P(X ≥ 3 | 5) = 1 − e^-5 (1 + 5 + 12.5)
        let p = poisson_upper_tail(3.0, 5.0);
        assert!(close(p, 1.0 - (-5.0f64).exp() * 18.5, 1e-12), "{p}");
        assert_eq!(poisson_upper_tail(0.0, 3.0), 1.0);
        assert_eq!(poisson_upper_tail(-2.0, 3.0), 1.0);
    }

    #[test]
    fn negbin_known_values() {
        // k = 1: geometric, P(X ≥ n) = (μ / (1 + μ))^n.
        for (n, mu) in [(1.0, 1.0), (5.0, 2.0), (20.0, 3.0), (3.0, 0.1)] {
            let p = negbin_upper_tail(n, mu, 1.0);
            let want = (mu / (1.0 + mu)).powf(n);
            assert!(close(p, want, 1e-10), "n={n} mu={mu}: {p} vs {want}");
        }
        assert_eq!(negbin_upper_tail(0.0, 3.0, 20.0), 1.0);
    }

    #[test]
    fn negbin_tends_to_poisson() {
        for (n, mu) in [
            (10.0, 2.0),
            (30.0, 15.0),
            (5.0, 0.5),
            (100.0, 60.0),
            (1.0, 1.0),
        ] {
            let pois = poisson_upper_tail(n, mu);
            let nb9 = negbin_upper_tail(n, mu, 1e9);
            assert!(close(nb9, pois, 1e-4), "n={n} mu={mu}: {nb9} vs {pois}");
            // Large but not huge k goes through the incomplete beta.
            let nb5 = negbin_upper_tail(n, mu, 1e5);
            assert!(close(nb5, pois, 0.05), "n={n} mu={mu}: {nb5} vs {pois}");
            // Overdispersion fattens the far tail.
            if n > 2.0 * mu {
                assert!(negbin_upper_tail(n, mu, 2.0) > pois);
            }
        }
    }

    #[test]
    fn tails_are_monotone_in_observed() {
        for mu in [1e-3, 0.5, 3.0, 40.0, 1e4] {
            let mut last_nb = 1.0;
            let mut last_p = 1.0;
            let mut x = 0.0;
            while x < 4.0 * mu + 50.0 {
                let nb = negbin_upper_tail(x, mu, 20.0);
                let p = poisson_upper_tail(x, mu);
                assert!(nb <= last_nb + 1e-12, "mu={mu} x={x}: {nb} > {last_nb}");
                assert!(p <= last_p + 1e-12, "mu={mu} x={x}: {p} > {last_p}");
                last_nb = nb;
                last_p = p;
                x += (mu / 20.0).max(0.25);
            }
        }
    }

    #[test]
    fn fractional_counts_interpolate() {
        let lo = negbin_upper_tail(9.0, 3.0, 20.0);
        let mid = negbin_upper_tail(9.5, 3.0, 20.0);
        let hi = negbin_upper_tail(10.0, 3.0, 20.0);
        assert!(lo > mid && mid > hi, "{lo} {mid} {hi}");
    }

    #[test]
    fn no_nan_for_extreme_inputs() {
        let cases = [
            (1e6, 1e-3),
            (1e6, 1e6),
            (1e6, 9.9e5),
            (1.0, 1e-3),
            (0.5, 1e-3),
            (1e-9, 1e6),
            (1e6, 1e-300),
            (f64::INFINITY, 1.0),
            (f64::NAN, 1.0),
            (5.0, f64::NAN),
            (5.0, 0.0),
            (5.0, f64::INFINITY),
            (3e5, 3e5),
        ];
        for (obs, mu) in cases {
            for k in [1e-3, 0.5, 20.0, 1e4, 1e9, f64::INFINITY, f64::NAN, 0.0] {
                let p = negbin_upper_tail(obs, mu, k);
                assert!((0.0..=1.0).contains(&p), "obs={obs} mu={mu} k={k}: {p}");
            }
            let p = poisson_upper_tail(obs, mu);
            assert!((0.0..=1.0).contains(&p), "obs={obs} mu={mu}: {p}");
        }
        assert!(negbin_upper_tail(1e6, 1e-3, 20.0) < 1e-100);
        let p = negbin_upper_tail(1e6, 1e6, 20.0);
        assert!(p > 0.3 && p < 0.7, "{p}");
    }

    #[test]
    fn thread_growth_reads_a_sparse_doubling_thread() {
        // Expected counts of a thread doubling every 24 minutes from a reaction every 3
        // minutes, over 40 minutes, rounded to whole reactions: mostly zeros and ones.
        let counts: Vec<f64> = (0..40)
            .map(|m| (0.33 * 2f64.powf(f64::from(m) / 24.0)).round())
            .collect();
        let d = thread_growth(&counts).doubling_time_s.unwrap() / 60.0;
        assert!((10.0..=40.0).contains(&d), "doubling {d} min");
        // The least-squares fit on the last 15 minutes does not see it growing within the hour.
        assert!(growth(&counts).doubling_time_s.is_none_or(|g| g > 3600.0));
        // Steady and shrinking threads do not double; a trickle is too little to say.
        assert_eq!(thread_growth(&[2.0; 40]).doubling_time_s, None);
        let shrinking: Vec<f64> = (0..40).map(|m| f64::from(40 - m) / 4.0).collect();
        assert_eq!(thread_growth(&shrinking).doubling_time_s, None);
        assert!(thread_growth(&shrinking).rate_per_min < 0.0);
        assert_eq!(
            thread_growth(&[0.0, 1.0, 0.0, 2.0, 3.0]).doubling_time_s,
            None
        );
        assert_eq!(thread_growth(&[]), Growth::default());
        assert_eq!(thread_growth(&[0.0; 30]), Growth::default());
        // Everything in the last minute: the steepest slope the bracket allows, not a NaN.
        let mut burst = vec![0.0; 20];
        burst.push(30.0);
        let g = thread_growth(&burst);
        assert!(g.rate_per_min > 0.9 && g.doubling_time_s.is_some(), "{g:?}");
    }

    #[test]
    fn growth_of_a_doubling_series() {
        let counts: Vec<f64> = (0..30).map(|t| 2f64.powf(t as f64 / 5.0)).collect();
        let g = growth(&counts);
        let d = g.doubling_time_s.unwrap();
        assert!((d - 300.0).abs() < 30.0, "{d}");
        assert!(g.rate_per_min > 0.0);
        let counts: Vec<f64> = (0..30).map(|t| 10.0 * 2f64.powf(t as f64 / 5.0)).collect();
        let d = growth(&counts).doubling_time_s.unwrap();
        assert!((d - 300.0).abs() < 15.0, "{d}");
    }

    #[test]
    fn flat_small_or_short_series_have_no_doubling_time() {
        assert_eq!(growth(&[5.0; 30]).doubling_time_s, None);
        assert!(growth(&[5.0; 30]).rate_per_min.abs() < 1e-12);
        let tiny: Vec<f64> = (0..30).map(|t| if t >= 28 { 1.0 } else { 0.0 }).collect();
        assert_eq!(growth(&tiny).doubling_time_s, None);
        assert_eq!(growth(&[]), Growth::default());
        assert_eq!(growth(&[1.0, 100.0]), Growth::default());
        let falling: Vec<f64> = (0..30).map(|t| 1000.0 / (t as f64 + 1.0)).collect();
        let g = growth(&falling);
        assert!(g.rate_per_min < 0.0);
        assert_eq!(g.doubling_time_s, None);
        assert_eq!(growth(&[f64::NAN, -1.0, 0.0, 2.0]).doubling_time_s, None);
    }

    #[test]
    fn duplicate_tracker_flags_near_duplicates_only() {
        let mut t = DuplicateTracker::new();
        let base = "the lumen app has been down for hours and support keeps closing my \
                    tickets without reading them, this is the third outage this month and \
                    nobody from the company has said a single word about refunds or credits \
                    for the downtime we all paid for, honestly thinking about switching providers \
                    before the next billing cycle starts again next week";
        assert!(!obs(&mut t, base));
        // Exact copy, and a copy with different handles/URL/case.
        assert!(obs(&mut t, base));
        assert!(obs(
            &mut t,
            &format!("@lumen {} https://x.example/9", base.to_uppercase())
        ));
        // One word changed: flagged at (nearly) every position of a long text.
        let words: Vec<&str> = base.split_whitespace().collect();
        let mut flagged = 0;
        for i in 0..words.len() {
            let mut w = words.clone();
            w[i] = "zebra";
            let mut fresh = DuplicateTracker::new();
            obs(&mut fresh, base);
            flagged += usize::from(obs(&mut fresh, &w.join(" ")));
        }
        assert!(
            flagged * 10 >= words.len() * 9,
            "{flagged} of {}",
            words.len()
        );
        // Unrelated text.
        assert!(!obs(
            &mut t,
            "loving the new lumen camera, the night mode photos look amazing"
        ));
        // Short texts are never duplicates.
        assert!(!obs(&mut t, "so true"));
        assert!(!obs(&mut t, "so true"));
        assert!(!obs(&mut t, ""));
    }

    #[test]
    fn duplicate_tracker_is_bounded() {
        let mut t = DuplicateTracker::new();
        let first = "alpha bravo charlie delta echo foxtrot";
        obs(&mut t, first);
        for i in 0..DUPLICATE_RING {
            let text = format!(
                "unrelated words number {} about {} things",
                words(i),
                words(i + 7)
            );
            obs(&mut t, &text);
        }
        assert_eq!(t.len, DUPLICATE_RING);
        assert!(std::mem::size_of::<DuplicateTracker>() <= 4096);
    }

    fn words(i: usize) -> String {
        const W: [&str; 8] = [
            "red", "green", "blue", "cyan", "pink", "gold", "grey", "teal",
        ];
        format!("{}{}{}", W[i % 8], W[(i / 8) % 8], W[(i / 64) % 8])
    }
}
