//! The social-slang overlay of the `lexicon` model: VADER's word list read the way posts use
//! some of its words.
//!
//! VADER scores words, and a handful of its strongest negative words are, in social posts,
//! mostly praise: "the new drop is fire 🔥", "killed it with this launch", "insanely good",
//! "i'm dead 😂 the ad is hilarious". Read literally, a launch or a happy viral post becomes a
//! "mostly negative" surge and pages support (measured on invented launch wording: 29 of 30
//! launches paged; see docs/evaluation.md, fourteenth round). The overlay changes a token's
//! lexicon valence from its context, before VADER's own rules (boosters, negation, caps, "but")
//! run, so "not fire" and "so insanely good" are still read by those rules.
//!
//! Each rule is narrow and leaves the literal reading wherever the context could be literal:
//! - **Degree words before praise**: "insanely / ridiculously / stupidly / dangerously / crazy
//!   / sick / damn" directly before a positive word ("insanely good") or an adjective that is
//!   praise when intensified ("ridiculously fast", "crazy how fast") intensify it instead of
//!   adding their own negative valence. "insanely slow" and "insane how long" are unchanged.
//! - **Praise idioms**: "killed it", "killing it", "crushed it", "smashed it", "nailed it"
//!   (unless an update, a storm, a spill... came just before: "the update killed it"), "goes
//!   hard", "broke the internet".
//! - **"fire" as praise**: after "is / so / pure / straight / lowkey / it's..." and not before a
//!   literal-fire word ("fire alarm", "fire at the depot"); 🔥 as praise. Neither applies in a
//!   post that also speaks of smoke, flames, burns, sparks or an evacuation.
//! - **Laughing "death"**: "i'm dead", "dying", "crying", "screaming" (and 😭) in a post that is
//!   laughing (lol, lmao, haha, hilarious, 😂, 🤣, 💀) weigh nothing.
//! - **Moved tears**: "crying", "sobbing", "tears" (and 😭) with no other negative word weigh
//!   nothing: "i'm crying this is so wholesome", and "tears 😭😭 what a story" under a
//!   good-news story (before the eighteenth round only beside a strong positive word).
//!   "sobbing, they cancelled my flight" and "literally crying, worst service ever" keep their
//!   tears; "crying, my order never came" and "on hold for 3 hours 😭", whose grievance VADER
//!   has no word for, read neutral (the complaint model still states them).
//! - **Missing praise words**: "wholesome" and "goated", which the reference lexicon lacks.
//! - **Hype predicates**: "is insane / sick / crazy / nuts / ridiculous / wicked / savage" of a
//!   thing, in a post with a sign of excitement (a strong positive word, 🔥, an exclamation, a
//!   launch word) and no other negative word, is neutral: "the new camera is insane!" is not a
//!   complaint, "the queue is insane" still is, and so are "my son got sick" and "the driver
//!   is insane".
//! - **Requests**: "help", "please", "pls", "plz" weigh nothing (VADER: +1.7, +1.3): "on hold
//!   for 2 hours now, please help" is a customer asking for a failure to be put right. After
//!   a negation ("no help", "zero help", "didn't help") they keep their valence, which the
//!   negation turns negative. Found on real complaints to airlines, where "help" is in 600
//!   negative tweets and 82 positive ones (docs/evaluation.md, twenty-second round).
//! - **Thanks for nothing**: "thanks / thank you (so much, a lot, again) for nothing" is
//!   reproach; the thanks counts against.
//! - **"like" that likes nothing**: "like" (VADER +1.5) weighs nothing unless a subject or
//!   an adverb of liking comes just before it ("i like", "we really like", "don't like" is
//!   negated as before): "looks like", "feels like 3 hours", "would like a refund" are not
//!   praise.
//! - **A joke as a verdict**: "is a joke", "what an absolute joke", "a joke of an airline":
//!   "joke" (VADER +1.2) counts against. "told a joke" keeps the reference's reading.
//!
//! `vader` stays the exact reference port; the complaint model reads the reference's scores, as
//! it was trained on them, and `linear` reads the overlays' (its dense features, since its third
//! version; it was not retrained for the rules added later, see models/linear/MODEL_CARD.md).

use super::Tok;

/// The token 🔥 is read as in slang mode (its reference description is "fire", -1.4).
pub(super) const FIRE_EMOJI: &str = "fire_emoji";

/// Valence of slang praise ("is fire", "killed it"): about "great" (3.1) less a little, as a
/// slang word is less certain than a plain one.
const PRAISE: f64 = 2.0;
/// What a degree word adds to the praise it intensifies (VADER's booster increment).
const DEGREE: f64 = 0.293;
/// Valence given to a praise-when-intensified adjective with no valence of its own
/// ("ridiculously fast").
const INTENSIFIED_PRAISE: f64 = 1.5;

/// A positive word strong enough to mark a post as excited ("love", "amazing", "wow"; not
/// "please", 1.3, or "want", 0.3).
const STRONG_POSITIVE: f64 = 1.5;

/// Words of excitement without a lexicon valence of their own (🤩 is "star-struck", 😍
/// "smiling face with heart-eyes").
fn excitement(w: &str) -> bool {
    matches!(
        w,
        "star-struck" | "heart-eyes" | "hype" | "hyped" | "omg" | "omfg" | "finally"
    )
}

/// Positive lexicon words that are not a quality a degree word could intensify ("sick. like
/// ...", "crazy please").
fn not_a_quality(w: &str) -> bool {
    matches!(
        w,
        "like"
            | "likes"
            | "please"
            | "thanks"
            | "thank"
            | "well"
            | "yes"
            | "ok"
            | "okay"
            | "sure"
            | "lol"
            | "lmao"
            | "haha"
            | "want"
            | "care"
            | "help"
            | "kind"
            | "free"
            | "party"
    )
}

/// Degree words that are negative alone and intensifiers before praise.
fn degree_word(w: &str) -> bool {
    matches!(
        w,
        "insanely"
            | "insane"
            | "crazy"
            | "ridiculously"
            | "ridiculous"
            | "stupidly"
            | "stupid"
            | "dangerously"
            | "scary"
            | "sick"
            | "wicked"
            | "mad"
            | "madly"
            | "obscenely"
            | "outrageously"
            | "damn"
            | "freaking"
            | "sickeningly"
    )
}

/// Adjectives without valence that are praise when intensified ("ridiculously fast").
fn praise_when_intensified(w: &str) -> bool {
    matches!(
        w,
        "fast"
            | "quick"
            | "smooth"
            | "cheap"
            | "comfy"
            | "light"
            | "thin"
            | "bright"
            | "sharp"
            | "crisp"
            | "tasty"
            | "addictive"
            | "delicious"
    )
}

/// Hype adjectives that are negative in the lexicon and, as a thing's predicate in an excited
/// post, mean "very impressive".
fn hype_predicate(w: &str) -> bool {
    matches!(
        w,
        "insane" | "sick" | "sickest" | "crazy" | "nuts" | "ridiculous" | "wicked" | "savage"
    )
}

/// Words before a hype adjective that make it a predicate or an attribute ("is insane", "so
/// sick", "looks crazy", "it's nuts").
fn predicate_lead(w: &str) -> bool {
    matches!(
        w,
        "is" | "was"
            | "so"
            | "looks"
            | "look"
            | "sounds"
            | "absolutely"
            | "literally"
            | "actually"
            | "lowkey"
            | "kinda"
            | "pretty"
            | "straight"
            | "just"
            | "honestly"
    ) || w.ends_with("'s")
}

/// Words that make a hype adjective a person's state or a person's description ("my son got
/// sick", "i'm sick of", "the driver is insane"): those keep their literal reading.
fn person_or_state(w: &str) -> bool {
    matches!(
        w,
        "me" | "got"
            | "get"
            | "gets"
            | "getting"
            | "feel"
            | "feeling"
            | "felt"
            | "feels"
            | "made"
            | "makes"
            | "became"
            | "fell"
            | "i'm"
            | "im"
            | "am"
            | "i"
            | "we"
            | "he"
            | "she"
            | "they"
            | "you"
            | "kid"
            | "kids"
            | "son"
            | "daughter"
            | "baby"
            | "child"
            | "children"
            | "wife"
            | "husband"
            | "everyone"
            | "people"
            | "customers"
            | "us"
            | "them"
            | "staff"
            | "driver"
            | "technician"
            | "engineer"
            | "manager"
            | "guy"
            | "man"
            | "woman"
            | "dude"
            | "agent"
            | "rep"
            | "employee"
            | "he's"
            | "she's"
            | "they're"
            | "you're"
    )
}

/// Verbs that are praise before "it" ("killed it", "nailing it").
fn praise_verb(w: &str) -> bool {
    matches!(
        w,
        "killed"
            | "killing"
            | "kills"
            | "killin"
            | "crushed"
            | "crushing"
            | "crushes"
            | "smashed"
            | "smashing"
            | "smashes"
            | "nailed"
            | "nailing"
            | "nails"
            | "murdered"
            | "murdering"
    )
}

/// Things that literally kill or break a device or a place ("the update killed it").
fn breaker(w: &str) -> bool {
    matches!(
        w,
        "update"
            | "updates"
            | "patch"
            | "firmware"
            | "software"
            | "bug"
            | "crash"
            | "outage"
            | "storm"
            | "flood"
            | "water"
            | "heat"
            | "battery"
            | "power"
            | "surge"
            | "virus"
            | "malware"
            | "spill"
            | "fall"
            | "courier"
            | "driver"
    )
}

/// Words right after "fire" that make it a literal fire ("fire alarm", "fire at the depot").
fn literal_fire_next(w: &str) -> bool {
    matches!(
        w,
        "at" | "in"
            | "on"
            | "alarm"
            | "alarms"
            | "brigade"
            | "department"
            | "dept"
            | "truck"
            | "trucks"
            | "crew"
            | "exit"
            | "exits"
            | "hazard"
            | "hazards"
            | "risk"
            | "safety"
            | "station"
            | "fighters"
            | "fighter"
            | "damage"
            | "drill"
            | "escape"
            | "extinguisher"
            | "door"
            | "doors"
            | "service"
            | "code"
            | "marshal"
            | "inspector"
            | "sprinkler"
            | "sprinklers"
            | "started"
            | "broke"
            | "spread"
    )
}

/// Words before "fire" that make it praise ("is fire", "so fire", "pure fire").
fn fire_lead(w: &str) -> bool {
    matches!(
        w,
        "is" | "was"
            | "are"
            | "so"
            | "pure"
            | "straight"
            | "absolute"
            | "absolutely"
            | "literally"
            | "lowkey"
            | "highkey"
            | "actual"
            | "kinda"
            | "looks"
            | "sounds"
            | "tastes"
            | "been"
    ) || w.ends_with("'s")
}

/// Words of a real fire or a hazard anywhere in the post: no fire reading as praise then.
fn hazard(w: &str) -> bool {
    matches!(
        w,
        "smoke"
            | "smoking"
            | "smoky"
            | "burning"
            | "burned"
            | "burnt"
            | "burns"
            | "flames"
            | "flame"
            | "evacuated"
            | "evacuate"
            | "evacuation"
            | "extinguisher"
            | "firefighters"
            | "injured"
            | "injury"
            | "fires"
            | "blaze"
            | "arson"
            | "wildfire"
            | "firefighter"
            | "emergency"
            | "explosion"
            | "exploded"
            | "sparks"
            | "sparking"
            | "caught"
            | "gas"
            | "leak"
            | "leaking"
            | "hazard"
            | "dangerous"
            | "unsafe"
    )
}

/// Laughter: "lol", "lmao", "haha...", "hilarious", and the words of 😂 ("tears of joy"), 🤣
/// ("laughing") and 💀 ("skull").
fn laugh(w: &str) -> bool {
    matches!(
        w,
        "lol" | "lmao" | "lmfao" | "rofl" | "hilarious" | "laughing" | "skull" | "joy"
    ) || (w.starts_with("haha") && w.bytes().all(|b| b == b'h' || b == b'a'))
}

/// "Death" and tears that are laughter in a laughing post ("i'm dead", 😭's "crying").
fn laughing_death(w: &str) -> bool {
    matches!(
        w,
        "dead" | "dying" | "died" | "crying" | "cry" | "cried" | "screaming" | "weak"
    )
}

/// Words before a laughing "death" that make it the speaker's ("i'm dead", "literally
/// crying", 😭's "loudly crying").
fn laughing_lead(w: &str) -> bool {
    matches!(
        w,
        "i'm"
            | "im"
            | "i"
            | "am"
            | "literally"
            | "lowkey"
            | "legit"
            | "actually"
            | "just"
            | "so"
            | "me"
            | "loudly"
            | "still"
            | "ded"
    )
}

/// Words that mark an excited post about a thing: launches and their vocabulary.
fn launch_word(w: &str) -> bool {
    matches!(
        w,
        "new"
            | "upgrade"
            | "preorder"
            | "pre-order"
            | "preordered"
            | "launch"
            | "launched"
            | "release"
            | "released"
            | "dropped"
            | "keynote"
            | "unboxed"
            | "unboxing"
            | "lineup"
    )
}

/// Praise words of social posts that the reference lexicon lacks, with valences near their
/// nearest reference word ("heartwarming" 2.1, "cute" 2.0). Not "legend" or "iconic": on
/// TweetEval they are hashtags of sales listings and sarcasm ("cancelled 30 seconds after
/// confirming. iconic") more often than praise (measured: 13 tweets read worse, 11 better).
fn missing_praise(w: &str) -> Option<f64> {
    match w {
        "wholesome" | "goated" => Some(PRAISE),
        _ => None,
    }
}

/// Tears that are moved, not hurt, in a post with no other negative word ("i'm crying, this
/// is so wholesome", 😭's "crying" beside "the best", "tears 😭 what a story").
fn tears(w: &str) -> bool {
    matches!(
        w,
        "crying" | "cry" | "cried" | "sobbing" | "sob" | "tears" | "weeping" | "screamed"
    )
}

/// Whether a rule could change this token's valence (or a neighbour's, through it): a negative
/// word some rule re-reads, or a word with no valence that a rule gives one.
fn trigger(w: &str, lex: Option<f64>) -> bool {
    match lex {
        Some(v) if v < 0.0 => {
            w == "fire"
                || w == "hard"
                || matches!(w, "broke" | "breaks" | "breaking" | "broken")
                || praise_verb(w)
                || laughing_death(w)
                || degree_word(w)
                || hype_predicate(w)
                || tears(w)
        }
        Some(_) => plea(w) || gratitude(w) || w == "joke" || w == "like",
        None => w == FIRE_EMOJI || missing_praise(w).is_some() || praise_verb(w),
    }
}

/// Words of a request: in a post to a brand, "please help" asks for what went wrong to be put
/// right; it is not praise.
fn plea(w: &str) -> bool {
    matches!(w, "help" | "please" | "pls" | "plz")
}

/// Words after which "like" is the verb of liking ("i like", "we really like", "don't like"
/// through VADER's negation); after anything else it is the preposition or filler of "looks
/// like", "feels like", "like 3 hours".
fn liking_subject(w: &str) -> bool {
    matches!(
        w,
        "i" | "we"
            | "you"
            | "u"
            | "they"
            | "people"
            | "everyone"
            | "who"
            | "really"
            | "totally"
            | "also"
            | "still"
            | "actually"
            | "definitely"
            | "genuinely"
            | "honestly"
            | "do"
            | "does"
            | "did"
            | "to"
    )
}

/// Words of thanks, which "… for nothing" turns into reproach.
fn gratitude(w: &str) -> bool {
    matches!(w, "thanks" | "thank" | "thx" | "ty")
}

/// Words that make "joke" a verdict on what precedes it ("is a joke", "what an absolute joke").
fn verdict_lead(w: &str) -> bool {
    matches!(
        w,
        "is" | "was"
            | "are"
            | "it's"
            | "its"
            | "that's"
            | "thats"
            | "such"
            | "what"
            | "absolute"
            | "complete"
            | "total"
            | "utter"
    )
}

/// Words allowed between a thanks and its "for nothing" ("thank you so much for nothing").
fn thanks_filler(w: &str) -> bool {
    matches!(
        w,
        "you" | "a" | "lot" | "so" | "much" | "again" | "very" | "guys" | "all"
    )
}

/// Re-reads the lexicon valence of `toks` (lower-cased words in `lower`) in context. `bang`:
/// the post has an exclamation mark.
pub(super) fn relex(lower: &str, toks: &mut [Tok], bang: bool) {
    let n = toks.len();
    let word = |t: &Tok| t.word(lower);
    // Most posts hold no word any rule re-reads: one cheap look per token, then nothing.
    if !toks.iter().any(|t| trigger(word(t), t.lex)) {
        return;
    }
    // Post-level cues, from the literal words.
    let mut hazards = false;
    let mut laughing = false;
    let mut fire_emoji = false;
    let mut launch = false;
    for t in toks.iter() {
        let w = word(t);
        hazards |= hazard(w);
        laughing |= laugh(w);
        fire_emoji |= w == FIRE_EMOJI;
        launch |= launch_word(w);
    }
    for i in 0..n {
        let w = word(&toks[i]);
        let prev = |k: usize| (i >= k).then(|| word(&toks[i - k]));
        let next = (i + 1 < n).then(|| word(&toks[i + 1]));
        if toks[i].lex.is_none() {
            if let Some(v) = missing_praise(w) {
                toks[i].lex = Some(v);
                continue;
            }
        }
        if gratitude(w) && toks[i].lex.is_some_and(|v| v > 0.0) {
            // "thanks for nothing", "thank you so much for nothing": reproach, not thanks.
            let mut j = i + 1;
            while j < n && !toks[j - 1].stop && thanks_filler(word(&toks[j])) {
                j += 1;
            }
            let for_nothing = j + 1 < n
                && !toks[j - 1].stop
                && word(&toks[j]) == "for"
                && !toks[j].stop
                && word(&toks[j + 1]) == "nothing";
            if for_nothing {
                toks[i].lex = toks[i].lex.map(|v| -v);
                continue;
            }
        }
        if w == "joke" && toks[i].lex.is_some_and(|v| v > 0.0) {
            // "the service is a joke", "what an absolute joke", "a joke of an airline": a
            // verdict, not a laugh. "told a joke" and "the joke in the ad" keep the reference.
            let lead = |k: usize| prev(k).is_some_and(verdict_lead) && !toks[i - k].stop;
            let article = prev(1).is_some_and(|p| {
                matches!(p, "a" | "an" | "absolute" | "complete" | "total" | "utter")
            }) && !toks[i - 1].stop;
            let verdict = article && (2..=3).any(lead);
            let joke_of = !toks[i].stop
                && next == Some("of")
                && i + 2 < n
                && matches!(word(&toks[i + 2]), "a" | "an");
            if verdict || joke_of {
                toks[i].lex = toks[i].lex.map(|v| -v);
                continue;
            }
        }
        if w == "like"
            && toks[i].lex.is_some()
            && !prev(1).is_some_and(|p| liking_subject(p) || super::negated(p))
        {
            // "looks like", "feels like we've been here 3 hours", "like 3 hours", and the
            // request "would like a refund": no liking in it.
            toks[i].lex = None;
            continue;
        }
        if plea(w)
            && toks[i].lex.is_some()
            && !(1..=2).any(|k| {
                prev(k).is_some_and(|p| matches!(p, "no" | "zero" | "little") || super::negated(p))
            })
        {
            // A request weighs nothing; "no help", "zero help" and "didn't help" keep the
            // word, so that the negation rules (VADER's, the idioms') read them negative.
            toks[i].lex = None;
            continue;
        }
        if w == FIRE_EMOJI {
            // 🔥 is praise, unless the post is about a real fire or hazard (then it reads as
            // the reference's "fire").
            toks[i].lex = Some(if hazards { -1.4 } else { PRAISE });
            continue;
        }
        if w == "fire" && !hazards && prev(1).is_some_and(fire_lead) {
            if !next.is_some_and(literal_fire_next) {
                toks[i].lex = Some(PRAISE);
            }
            continue;
        }
        if praise_verb(w) && next == Some("it") && !(1..=3).any(|k| prev(k).is_some_and(breaker)) {
            toks[i].lex = Some(PRAISE);
            continue;
        }
        if w == "hard" && prev(1).is_some_and(|p| matches!(p, "goes" | "go" | "went" | "going")) {
            toks[i].lex = Some(PRAISE);
            continue;
        }
        if matches!(w, "broke" | "breaks" | "breaking" | "broken")
            && next == Some("the")
            && i + 2 < n
            && word(&toks[i + 2]) == "internet"
        {
            toks[i].lex = Some(PRAISE);
            continue;
        }
        if laughing && laughing_death(w) {
            let laugh_next = next.is_some_and(laugh);
            if i == 0 || prev(1).is_some_and(laughing_lead) || laugh_next {
                toks[i].lex = None;
                continue;
            }
        }
        if degree_word(w) && !toks[i].stop && toks[i].lex.is_some_and(|v| v < 0.0) {
            // "crazy how fast it charges": the degree word reaches past "how".
            let how = i + 2 < n && word(&toks[i + 1]) == "how" && !toks[i + 1].stop;
            let j = if how { i + 2 } else { i + 1 };
            if let Some(j) = (j < n).then_some(j) {
                let nw = word(&toks[j]);
                let praised = toks[j].lex.is_some_and(|v| v > 0.0) && !not_a_quality(nw);
                if praised || (toks[j].lex.is_none() && praise_when_intensified(nw)) {
                    toks[i].lex = None;
                    toks[j].lex = Some(match toks[j].lex {
                        Some(v) => v + DEGREE,
                        None => INTENSIFIED_PRAISE,
                    });
                    continue;
                }
            }
        }
    }
    // Hype predicates and moved tears need the whole post read first: no other negative word
    // may remain.
    let other_negative = toks.iter().any(|t| {
        let w = word(t);
        t.lex.is_some_and(|v| v < 0.0) && !hype_predicate(w) && !tears(w)
    });
    if other_negative {
        return;
    }
    let praised = toks
        .iter()
        .any(|t| t.lex.is_some_and(|v| v >= STRONG_POSITIVE));
    // Tears with no other negative word are being moved, not hurt: "i'm crying this is so
    // wholesome", and as well "tears 😭😭 what a story" under a good-news story, whose praise
    // is the story's and not in the reply (eighteenth round).
    for t in toks.iter_mut() {
        if tears(word(t)) && t.lex.is_some_and(|v| v < 0.0) {
            t.lex = None;
        }
    }
    let excited =
        bang || launch || fire_emoji || praised || toks.iter().any(|t| excitement(word(t)));
    if !excited {
        return;
    }
    for i in 0..n {
        let w = word(&toks[i]);
        if !hype_predicate(w) || toks[i].lex.is_none_or(|v| v >= 0.0) {
            continue;
        }
        let prev = |k: usize| (i >= k).then(|| word(&toks[i - k]));
        let next = (i + 1 < n).then(|| word(&toks[i + 1]));
        let lead = prev(1).is_some_and(predicate_lead);
        let person = (1..=2).any(|k| prev(k).is_some_and(person_or_state));
        // "sick of", "sick and tired", "insane how / that ...": outrage, not hype.
        let of = next.is_some_and(|x| matches!(x, "of" | "and" | "how" | "that" | "what" | "to"));
        if lead && !person && !of {
            toks[i].lex = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::overlay_tests::{
        overlay, praise_turned_negative, reference, stop_being_negative, turn_positive, unchanged,
    };

    /// Praise the reference reads as negative, which the overlay reads as positive.
    #[test]
    fn slang_praise_reads_positive() {
        turn_positive(&[
            "the new drop is fire 🔥🔥",
            "this album is so fire",
            "🔥🔥🔥",
            "they killed it with this launch",
            "crushing it this season",
            "the new headphones go hard",
            "this ad broke the internet, well done",
            "stupidly good battery on the new phone",
            "crazy how fast the new phone charges",
            "the update made it ridiculously fast",
            "i'm dead 😭 lmao",
        ]);
    }

    #[test]
    fn a_request_for_help_is_not_praise() {
        // Positive to the reference ("help" +1.7, "please" +1.3), not to the overlay.
        let pleas = [
            "on hold for 2 hours now, please help",
            "flight cancelled, can someone help",
            "pls help my card got blocked",
        ];
        for text in pleas {
            let (r, s) = (reference(text), overlay(text));
            assert!(
                r >= 0.05 && s < 0.05,
                "{text:?}: reference {r}, overlay {s}"
            );
        }
        // A negated request keeps its word, and the negation turns it negative.
        assert!(overlay("no help at all") <= -0.05);
        assert!(overlay("their chat didn't help") <= -0.05);
        // Thanks for help is still thanks; "helps" and "helpful" are not requests.
        assert!(overlay("thanks for the help!") >= 0.05);
        unchanged(&["this app helps me a lot", "the agent was so helpful"]);
    }

    #[test]
    fn thanks_for_nothing_is_reproach() {
        praise_turned_negative(&[
            "thanks for nothing",
            "@skyhop thank you so much for nothing. 60 minute wait",
            "thx again for nothing",
        ]);
        // Thanks for something is thanks; "for nothing" must follow the thanks in its clause.
        assert!(overlay("thanks for the refund") >= 0.05);
        assert!(overlay("thanks. for nothing would i switch") >= 0.05);
    }

    #[test]
    fn like_as_a_preposition_or_a_request_is_not_praise() {
        for text in [
            "looks like another delay",
            "feels like 3 hours on hold",
            "i would like a refund",
        ] {
            let (r, s) = (reference(text), overlay(text));
            assert!(r > s && s < 0.05, "{text:?}: reference {r}, overlay {s}");
        }
        // Liking keeps its reading, and so does its negation.
        unchanged(&[
            "i like the new app",
            "we really like it",
            "i don't like this",
        ]);
    }

    #[test]
    fn a_joke_as_a_verdict_counts_against() {
        praise_turned_negative(&[
            "your customer service is a joke",
            "what an absolute joke",
            "@skyhop a joke of an airline",
        ]);
        unchanged(&[
            "he told a joke at the gate",
            "the joke in the new ad got me",
        ]);
    }

    /// Hype adjectives of a thing in an excited post are neutral, not negative.
    #[test]
    fn hype_predicates_of_a_thing_in_an_excited_post_are_neutral() {
        stop_being_negative(&[
            "the new camera is insane!",
            "just dropped the new watch and it is sick",
            "the new lineup is nuts",
        ]);
    }

    /// Tears beside praise or alone are being moved, not hurt; beside a grievance they keep
    /// their weight.
    #[test]
    fn moved_tears_are_not_grief() {
        // Negative to the reference, positive to the overlay.
        let moved = ["i'm crying this is so wholesome", "so cute 😭😭😭"];
        stop_being_negative(&moved);
        turn_positive(&moved);
        unchanged(&[
            "i'm crying, they lost my wedding dress",
            "crying 😭 the best day ruined by a cancelled flight",
            "sobbing, they cancelled my flight",
        ]);
        // Tears alone, under a good-news story, are not grief either (eighteenth round).
        stop_being_negative(&[
            "tears 😭😭 what a story",
            "not me sobbing at a brand tweet 😭",
        ]);
    }

    /// Where the words can be literal, the overlay reads them as the reference does.
    #[test]
    fn literal_readings_are_kept() {
        let texts = [
            "there is a fire at the depot, smoke everywhere",
            "🔥 emergency at the plant, fires spreading",
            "fire alarm went off and nobody came",
            "the boiler is fire hazard, sparks everywhere 🔥",
            "the update killed it, phone is dead",
            "insanely slow checkout again",
            "the queue is insane",
            "my son got sick after the meal",
            "the driver is insane, nearly hit us",
            "i am sick of waiting for a refund",
            "it is insane how long this takes!",
            "my dog is dead and the vet never called",
            "crazy expensive and still broken",
        ];
        unchanged(&texts);
        for text in texts {
            assert!(overlay(text) < 0.05, "{text:?}: {}", overlay(text));
        }
    }

    /// "but" after praise still shifts weight, as the overlay only changes word valences.
    #[test]
    fn the_reference_rules_still_apply_to_overlay_words() {
        assert!(overlay("the new drop is not fire") < overlay("the new drop is fire"));
        assert!(overlay("this is so fire but the app crashed and lost my order") < 0.05);
    }
}
