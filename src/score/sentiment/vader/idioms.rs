//! The idiom overlay of the `lexicon` model: negations that do not negate, and negative words
//! whose target is not the speaker's.
//!
//! VADER negates any lexicon word up to three words after "not", "can't", "never"..., and reads
//! every negative word as the post's own grievance. Everyday praise breaks both: "couldn't be
//! happier", "can't recommend them enough" and "can't believe how good it is" read negative;
//! "the new camera destroys everything else", "finally fixed the battery problem", "hard to
//! find anything wrong with it" and "goodbye to bad battery life" read as complaints, and
//! "zero regrets" as regret (measured on invented launch-day wording: 30 of 30 launches
//! paged; docs/evaluation.md, fifteenth round). The same rules read "couldn't be worse" and
//! "zero help from support" as the complaints they are, where the reference reads them
//! positive.
//!
//! Like [`super::slang`], each rule changes a token's lexicon valence, or marks a negation word
//! inert, before VADER's own rules run; each is narrow and keeps the reference's reading where
//! the words could be meant literally:
//! - **A comparative under a modal negation** ("couldn't be happier", "could not be worse",
//!   "never been better", "can't get any worse"): the negation is inert, so the comparative
//!   keeps its own sign. "isn't better" is still negated.
//! - **"can't … enough" and "can't believe how"** ("can't recommend them enough", "can't thank
//!   you enough", "can't believe how good", "can't stop smiling"): the negation is inert.
//! - **Zero as "no"**: "zero" negates the two words after it, as the reference's "no" does
//!   ("zero regrets", "zero help").
//! - **A fixed problem**: "fixed / solved / resolved / sorted / repaired" with no negation or
//!   "still" before it, then a problem word within four words ("finally fixed the battery
//!   problem"): the problem word weighs nothing. "still haven't fixed the problem" is unchanged.
//! - **A rival as the target**: "destroys / kills / beats / ruined / puts to shame…" directly
//!   followed (within three words) by a rival ("the competition", "everything else", "every
//!   other", "the rest"), or a rival's fear ("the competition should be worried"): praise of
//!   the subject. Not in a post about a hazard or with another negative word.
//! - **Hard to fault**: "hard / difficult / impossible to find / fault / complain / criticise"
//!   negates the negative words after it ("hard to find anything wrong"), and "hard" itself
//!   weighs nothing there.
//! - **A wallet in jest**: "my wallet is crying", "my bank account hates me": moods of the
//!   speaker's wallet, savings or account weigh nothing ("my bank account got hacked" keeps
//!   its reading).
//! - **The old one looks bad**: "makes my old phone look broken", "makes every other phone feel
//!   slow": the defect is of what the new thing replaces.
//! - **Farewell to a defect**: "goodbye to / farewell to / bye bye to" negates the negative
//!   words of the same clause within three words ("goodbye to bad battery life").

use std::ops::Range;

use super::{Tok, N_SCALAR};

/// Valence of a rival beaten ("destroys the competition"): as [`super::slang`]'s slang
/// praise, about "great" (3.1) less a little.
const PRAISE: f64 = 2.0;

/// Comparatives whose sign a modal negation keeps ("couldn't be happier / worse").
fn comparative(w: &str) -> bool {
    matches!(
        w,
        "better" | "happier" | "prouder" | "nicer" | "worse" | "sadder" | "angrier" | "ruder"
    )
}

/// Negations of ability or of the past that make an extreme of a comparative ("couldn't be
/// happier", "never been better"), unlike "isn't better".
const MODAL_NEGATION: &[&str] = &[
    "couldn't", "couldnt", "can't", "cant", "cannot", "never", "wouldn't", "wouldnt",
];

/// Words allowed between a modal negation and its comparative ("couldn't *possibly be*
/// happier", "can't *get any* worse", "never *felt* better").
fn comparative_filler(w: &str) -> bool {
    matches!(
        w,
        "be" | "been"
            | "have"
            | "get"
            | "got"
            | "gotten"
            | "any"
            | "possibly"
            | "feel"
            | "felt"
            | "look"
            | "looked"
            | "ask"
            | "asked"
            | "for"
            | "much"
    )
}

/// Negations of ability ("can't recommend them enough").
fn inability(w: &str) -> bool {
    matches!(w, "can't" | "cant" | "cannot" | "couldn't" | "couldnt")
}

/// Verbs that "can't … enough" turns into an extreme ("can't thank them enough").
fn enough_verb(w: &str) -> bool {
    matches!(
        w,
        "recommend"
            | "thank"
            | "praise"
            | "rate"
            | "stress"
            | "love"
            | "say"
            | "express"
            | "appreciate"
            | "get"
    )
}

/// Verbs of a problem solved.
const FIXING: &[&str] = &[
    "fixed", "fixes", "solved", "solves", "resolved", "sorted", "repaired",
];

/// Problem words that a fix makes past ("fixed the battery *problem*").
fn problem(w: &str) -> bool {
    matches!(
        w,
        "problem"
            | "problems"
            | "issue"
            | "issues"
            | "bug"
            | "bugs"
            | "fault"
            | "faults"
            | "glitch"
            | "glitches"
            | "lag"
            | "error"
            | "errors"
            | "crash"
            | "crashes"
            | "mess"
            | "nightmare"
    )
}

/// Verbs of beating someone, negative alone ("destroys", "kills") or neutral ("beats").
const BEATING: &[&str] = &[
    "destroys",
    "destroyed",
    "destroying",
    "kills",
    "killing",
    "killed",
    "crushes",
    "crushed",
    "crushing",
    "ruins",
    "ruined",
    "beats",
    "murders",
    "murdered",
    "embarrasses",
    "embarrassed",
    "obliterates",
    "annihilates",
    "demolishes",
    "humiliates",
    "smokes",
    "shames",
];

fn beating(w: &str) -> bool {
    BEATING.contains(&w)
}

/// A rival as the object of a beating verb, at token `j`: "competition", "competitors",
/// "rivals", "others", "everything else", "every other", "the rest", "anything else".
fn rival(lower: &str, toks: &[Tok], j: usize) -> bool {
    let next = (j + 1 < toks.len()).then(|| word(lower, toks, j + 1));
    match word(lower, toks, j) {
        "competition" | "competitors" | "rivals" | "others" => true,
        "everything" | "anything" => next == Some("else"),
        "every" => next == Some("other"),
        "rest" => j > 0 && word(lower, toks, j - 1) == "the",
        _ => false,
    }
}

/// A rival's fear ("the competition should be *worried*").
const FEAR: &[&str] = &[
    "worried",
    "scared",
    "nervous",
    "terrified",
    "afraid",
    "shaking",
    "shook",
];

fn fear(w: &str) -> bool {
    FEAR.contains(&w)
}

/// Words of a hazard or a disaster: "destroyed everything else" is then literal.
fn disaster(w: &str) -> bool {
    matches!(
        w,
        "fire"
            | "flood"
            | "flooded"
            | "flooding"
            | "water"
            | "leak"
            | "leaking"
            | "storm"
            | "smoke"
            | "explosion"
            | "exploded"
            | "burst"
            | "damage"
            | "damaged"
            | "crash"
            | "crashed"
            | "accident"
    )
}

/// "hard to ..." verbs of finding fault ("hard to *find* anything wrong").
fn fault_finding(w: &str) -> bool {
    matches!(
        w,
        "find" | "fault" | "complain" | "criticise" | "criticize" | "say" | "knock" | "dislike"
    )
}

/// The rule families, one bit each in a lexicon entry's anchor mask: a family's rules are
/// read only at its anchor words, and a post with none is not read at all.
pub(super) mod family {
    /// A modal negation: comparatives, "can't … enough", "can't believe how", "can't stop".
    pub const NEGATION: u8 = 1;
    /// "zero".
    pub const ZERO: u8 = 2;
    /// A fixing verb.
    pub const FIX: u8 = 4;
    /// "hard / difficult / impossible to find fault".
    pub const HARD: u8 = 8;
    /// "goodbye / farewell / bye to".
    pub const FAREWELL: u8 = 16;
    /// "my wallet / savings / account / bank".
    pub const WALLET: u8 = 32;
    /// "makes … look".
    pub const MAKES: u8 = 64;
    /// A beating verb, a rival's fear, "to shame".
    pub const RIVAL: u8 = 128;
}

/// Anchor words and their family: the lexicon map marks them, so finding them costs no lookup
/// of its own.
pub(super) const ANCHORS: &[(u8, &[&str])] = &[
    (family::NEGATION, MODAL_NEGATION),
    (family::NEGATION, &["not"]),
    (family::ZERO, &["zero"]),
    (family::FIX, FIXING),
    (family::HARD, &["hard", "difficult", "impossible"]),
    (family::FAREWELL, &["goodbye", "farewell", "bye"]),
    (family::WALLET, &["wallet", "savings", "account", "bank"]),
    (family::MAKES, &["makes", "made", "making", "make"]),
    (family::RIVAL, BEATING),
    (family::RIVAL, FEAR),
    (family::RIVAL, &["shame"]),
];

/// Re-reads `toks` (lower-cased words in `lower`) for the idioms of the module docs.
pub(super) fn relex(lower: &str, toks: &mut [Tok]) {
    let seen = toks.iter().fold(0u8, |m, t| m | t.anchor);
    if seen == 0 {
        return;
    }
    let n = toks.len();
    for i in 0..n {
        let bits = toks[i].anchor;
        if bits == 0 {
            continue;
        }
        if bits & family::NEGATION != 0 {
            negation(lower, toks, i);
        }
        // "zero" negates the two words after it, as "no" does.
        if bits & family::ZERO != 0 && !toks[i].stop {
            reread(toks, i + 1..i + 3, |v| Some(v * N_SCALAR));
        }
        // A fixed problem weighs nothing.
        if bits & family::FIX != 0
            && !(i.saturating_sub(3)..i).any(|k| negates_or_still(word(lower, toks, k)))
        {
            weigh_nothing(lower, toks, i + 1..i + 5, problem);
        }
        // "hard to find anything wrong": the negative words after it are negated.
        if bits & family::HARD != 0
            && i + 2 < n
            && word(lower, toks, i + 1) == "to"
            && fault_finding(word(lower, toks, i + 2))
            && !toks[i].stop
            && !toks[i + 1].stop
        {
            let any = reread(toks, i + 2..i + 7, negate_negative);
            if any && negative(&toks[i]) {
                toks[i].lex = None;
            }
        }
        // "goodbye to bad battery life": the clause's defects are negated.
        if bits & family::FAREWELL != 0
            && i + 1 < n
            && word(lower, toks, i + 1) == "to"
            && !toks[i].stop
        {
            reread(toks, i + 2..i + 5, negate_negative);
        }
        // "my wallet is crying", "my bank account hates me": spending, not a grievance.
        if bits & family::WALLET != 0
            && !toks[i].stop
            && (i.saturating_sub(2)..i).any(|k| matches!(word(lower, toks, k), "my" | "our"))
        {
            weigh_nothing(lower, toks, i + 1..i + 4, wallet_mood);
        }
        // "makes my old phone look broken": a defect of what the new thing replaces.
        if bits & family::MAKES != 0 && !toks[i].stop {
            let look = (i + 2..n.min(i + 6))
                .take_while(|&k| !toks[k - 1].stop)
                .find(|&k| matches!(word(lower, toks, k), "look" | "looks" | "feel" | "feels"));
            if let Some(l) = look {
                let other = (i + 1..l).any(|k| {
                    matches!(
                        word(lower, toks, k),
                        "old" | "older" | "previous" | "last" | "other"
                    ) || rival(lower, toks, k)
                });
                if other && !toks[l].stop {
                    weigh_nothing(lower, toks, l + 1..l + 3, |_| true);
                }
            }
        }
    }
    if seen & family::RIVAL != 0 {
        beaten_rival(lower, toks);
    }
}

/// Token `k`'s lowercased word.
fn word<'a>(lower: &'a str, toks: &[Tok], k: usize) -> &'a str {
    toks[k].word(lower)
}

/// A word read as negative (so far).
fn negative(t: &Tok) -> bool {
    t.lex.is_some_and(|v| v < 0.0)
}

/// Re-reads the valence of the tokens of `range` (clipped to the post) with `f`, up to the end
/// of the clause; whether any changed.
fn reread(toks: &mut [Tok], range: Range<usize>, f: impl Fn(f64) -> Option<f64>) -> bool {
    let end = range.end.min(toks.len());
    let mut changed = false;
    for t in toks.get_mut(range.start..end).unwrap_or_default() {
        if let Some(v) = t.lex {
            let new = f(v);
            changed |= new != Some(v);
            t.lex = new;
        }
        if t.stop {
            break;
        }
    }
    changed
}

/// The negative words of `range` (clipped to the post) that `which` accepts weigh nothing, up to
/// the end of the clause.
fn weigh_nothing(lower: &str, toks: &mut [Tok], range: Range<usize>, which: impl Fn(&str) -> bool) {
    let end = range.end.min(toks.len());
    for t in toks.get_mut(range.start..end).unwrap_or_default() {
        if negative(t) && which(t.word(lower)) {
            t.lex = None;
        }
        if t.stop {
            break;
        }
    }
}

/// A negative valence negated, as VADER negates; others unchanged.
fn negate_negative(v: f64) -> Option<f64> {
    Some(if v < 0.0 { v * N_SCALAR } else { v })
}

/// The rules of a modal negation at `i`: made inert before a comparative ("couldn't be
/// happier"), before "recommend … enough" or "believe how", and before "stop" with a felt
/// verb after it (and "stop" then weighs nothing).
fn negation(lower: &str, toks: &mut [Tok], i: usize) {
    let n = toks.len();
    let w = word(lower, toks, i);
    let after = |k: usize| if k < n { word(lower, toks, k) } else { "" };
    let modal = if w == "not" {
        i > 0 && matches!(word(lower, toks, i - 1), "could" | "can" | "would")
    } else {
        true
    };
    if !modal || toks[i].stop {
        return;
    }
    // A comparative within three words, through fillers ("couldn't possibly be happier").
    for k in i + 1..n.min(i + 4) {
        let x = word(lower, toks, k);
        if comparative(x) {
            toks[i].inert = true;
            return;
        }
        if !comparative_filler(x) || toks[k].stop {
            break;
        }
    }
    let able = w == "not" || inability(w);
    if !able {
        return;
    }
    let verb = after(i + 1);
    let believe_how = verb == "believe" && matches!(after(i + 2), "how" | "what" | "just");
    let enough =
        enough_verb(verb) && (i + 2..n.min(i + 8)).any(|k| word(lower, toks, k) == "enough");
    if believe_how || enough {
        toks[i].inert = true;
        return;
    }
    // "can't stop smiling / crying": "stop" is a continuation, neither a grievance nor negated,
    // and the verb after it keeps its sign. Before a verb without valence ("can't stop
    // watching") the reference's positive reading stays.
    let felt = toks.get(i + 2).is_some_and(|t| t.lex.is_some());
    if verb == "stop" && felt && !toks[i + 1].stop {
        toks[i].inert = true;
        toks[i + 1].lex = None;
    }
}

/// A rival as the target ("destroys everything else", "the competition should be worried",
/// "puts the rest to shame"): praise, in a post with no disaster and no other grievance.
fn beaten_rival(lower: &str, toks: &mut [Tok]) {
    let n = toks.len();
    if (0..n).any(|k| disaster(word(lower, toks, k))) {
        return;
    }
    // At most a few beaten words in a post: a fixed buffer, no allocation.
    let mut praised = [0usize; 4];
    let mut m = 0;
    for i in 0..n {
        if toks[i].anchor & family::RIVAL == 0 || m == praised.len() {
            continue;
        }
        let w = word(lower, toks, i);
        let hit = if beating(w) {
            !toks[i].stop
                && (i + 1..n.min(i + 4))
                    .take_while(|&k| !toks[k - 1].stop)
                    .any(|k| rival(lower, toks, k))
        } else if w == "shame" {
            let start = i.saturating_sub(5);
            i >= 2
                && word(lower, toks, i - 1) == "to"
                && (start..i - 1).any(|k| rival(lower, toks, k))
                && (start..i - 1)
                    .any(|k| matches!(word(lower, toks, k), "puts" | "put" | "putting"))
        } else {
            fear(w) && (i.saturating_sub(3)..i).any(|k| rival(lower, toks, k))
        };
        if hit {
            praised[m] = i;
            m += 1;
        }
    }
    let praised = &praised[..m];
    if praised.is_empty() {
        return;
    }
    if (0..n).any(|k| negative(&toks[k]) && !praised.contains(&k)) {
        return;
    }
    for &i in praised {
        toks[i].lex = if fear(word(lower, toks, i)) {
            None
        } else {
            Some(PRAISE)
        };
    }
}

/// Moods of a wallet or a bank account in jest ("my wallet is *crying*").
fn wallet_mood(w: &str) -> bool {
    matches!(
        w,
        "hates"
            | "hate"
            | "crying"
            | "cries"
            | "screaming"
            | "screams"
            | "dying"
            | "died"
            | "dead"
            | "weeping"
            | "sobbing"
            | "hurts"
            | "suffering"
            | "shambles"
    )
}

/// A negation or "still" before a fixing verb ("still haven't fixed the problem").
fn negates_or_still(w: &str) -> bool {
    super::negated(w) || matches!(w, "still" | "yet" | "supposedly" | "allegedly")
}

#[cfg(test)]
mod tests {
    use super::super::overlay_tests::{
        stop_being_negative, turn_negative, turn_positive, unchanged,
    };

    /// Praise the reference reads as negative or neutral, which the overlay reads as positive.
    #[test]
    fn idiomatic_praise_reads_positive() {
        turn_positive(&[
            "couldn't be happier with my new phone",
            "i could not be happier",
            "can't recommend them enough",
            "can't believe how good the new phone is",
            "the new camera destroys everything else",
            "this update kills the competition",
            "the new phone ruined every other phone for me",
            "hard to find anything wrong with it",
            "zero regrets",
            "said goodbye to bad battery life",
        ]);
        // A fixed problem and a wallet in jest are no longer grievances.
        stop_being_negative(&[
            "finally fixed the battery problem",
            "my bank account hates me, new phone ordered",
            "the new phone makes my old one look broken",
        ]);
    }

    /// Complaints the reference reads as positive, which the overlay reads as negative.
    #[test]
    fn idiomatic_complaints_read_negative() {
        turn_negative(&[
            "the service couldn't be worse",
            "got zero help, again",
            "can't stop crying, they lost my dog",
        ]);
    }

    /// Where the words are meant literally, the reference's reading stays.
    #[test]
    fn literal_negations_and_targets_are_kept() {
        unchanged(&[
            "the new version isn't better",
            "they still haven't fixed the problem",
            "never fixed the problem, useless",
            "the flood destroyed everything else in the basement",
            "the update killed the battery",
            "it is not good enough",
            "goodbye Zentra, worst service ever",
            "hard to find a seat, terrible",
            "my bank account got hacked and nobody helps",
            "my old phone looks broken after the update",
            // A beaten rival beside a real grievance is no praise.
            "kills the competition on price but the app crashed twice",
        ]);
    }
}
