//! Phrase pools of the scenario families: the words every generated mention is made of.
//!
//! Two pools, [`TUNE`] and [`TEST`], each complete on its own (brand names, sectors, ambiguous
//! words, background chatter, every family's posts and reactions). They are written for this
//! harness, share no template and no four-word phrase with each other, and copy nothing from
//! the demo generator's word banks (`synth/texts.rs`); [`shared_phrases`] and
//! [`copied_phrases`] check exactly that, and the unit and integration tests call them. A
//! detector tuned on the `Tune` pool is therefore judged on the `Test` pool with wording,
//! products and brand names it has never seen.
//!
//! Templates hold placeholders that the generator fills per post: `{b}` a way of naming the
//! brand (name, bare term, handle or hashtag), `{x}` one of the sector's products or services,
//! `{s}` one of the sector's staff roles. Ambiguous-name posts are literal: they use the
//! brand's word in its ordinary sense.

use super::Pool;

/// A line of business: how brands of it are named and what their customers talk about.
#[derive(Debug)]
pub struct Sector {
    /// Second word of a brand's name (`Fibre` → "Quillon Fibre").
    pub suffixes: &'static [&'static str],
    /// Products and services (`{x}`).
    pub things: &'static [&'static str],
    /// Staff roles customers meet (`{s}`).
    pub staff: &'static [&'static str],
}

/// An ordinary word that is also a brand's name, with the phrases it usually appears in.
#[derive(Debug)]
pub struct AmbiguousWord {
    /// The word in lower case; the brand's bare term.
    pub word: &'static str,
    /// Ordinary-sense collocations an analyst could configure as `exclude` phrases.
    pub collocations: &'static [&'static str],
    /// Posts using the word in its ordinary sense (literal: no placeholders).
    pub posts: &'static [&'static str],
}

/// One complete pool of names and templates.
#[derive(Debug)]
pub struct Phrases {
    pub pool: Pool,
    /// Invented brand name stems (capitalised).
    pub stems: &'static [&'static str],
    pub sectors: &'static [Sector],
    pub ambiguous: &'static [AmbiguousWord],
    /// Prefixes and suffixes around post bodies.
    pub openers: &'static [&'static str],
    pub tails: &'static [&'static str],
    /// Unbranded chatter (never names a brand).
    pub noise: &'static [&'static str],
    pub bg_neutral: &'static [&'static str],
    pub bg_positive: &'static [&'static str],
    pub bg_complaint: &'static [&'static str],
    /// Replies and quotes that do not name the brand.
    pub bg_reply: &'static [&'static str],
    /// Replies and quotes that name the brand.
    pub bg_branded_reply: &'static [&'static str],
    pub misconduct_root: &'static [&'static str],
    pub misconduct_reaction: &'static [&'static str],
    pub misconduct_branded: &'static [&'static str],
    pub viral_root: &'static [&'static str],
    pub viral_reaction: &'static [&'static str],
    pub viral_branded: &'static [&'static str],
    pub slow_complaint: &'static [&'static str],
    pub slow_question: &'static [&'static str],
    pub sharp_complaint: &'static [&'static str],
    pub sharp_question: &'static [&'static str],
    /// Unbranded "me too" replies under complaints (outages, billing, sarcasm).
    pub complaint_reply: &'static [&'static str],
    pub billing_complaint: &'static [&'static str],
    pub influencer_root: &'static [&'static str],
    pub influencer_reaction: &'static [&'static str],
    pub launch_post: &'static [&'static str],
    pub bot_spam: &'static [&'static str],
    pub sarcasm_post: &'static [&'static str],
}

impl Phrases {
    /// Every string of the pool with the name of its group, in a fixed order (the input of
    /// the overlap checks). Ambiguous words contribute their word, collocations and posts.
    pub fn templates(&self) -> Vec<(&'static str, &'static str)> {
        fn add(
            out: &mut Vec<(&'static str, &'static str)>,
            group: &'static str,
            xs: &'static [&'static str],
        ) {
            out.extend(xs.iter().map(|x| (group, *x)));
        }
        let mut out = Vec::new();
        add(&mut out, "stems", self.stems);
        for s in self.sectors {
            add(&mut out, "sector.suffixes", s.suffixes);
            add(&mut out, "sector.things", s.things);
            add(&mut out, "sector.staff", s.staff);
        }
        for a in self.ambiguous {
            out.push(("ambiguous.word", a.word));
            add(&mut out, "ambiguous.collocations", a.collocations);
            add(&mut out, "ambiguous.posts", a.posts);
        }
        for (group, xs) in [
            ("openers", self.openers),
            ("tails", self.tails),
            ("noise", self.noise),
            ("bg_neutral", self.bg_neutral),
            ("bg_positive", self.bg_positive),
            ("bg_complaint", self.bg_complaint),
            ("bg_reply", self.bg_reply),
            ("bg_branded_reply", self.bg_branded_reply),
            ("misconduct_root", self.misconduct_root),
            ("misconduct_reaction", self.misconduct_reaction),
            ("misconduct_branded", self.misconduct_branded),
            ("viral_root", self.viral_root),
            ("viral_reaction", self.viral_reaction),
            ("viral_branded", self.viral_branded),
            ("slow_complaint", self.slow_complaint),
            ("slow_question", self.slow_question),
            ("sharp_complaint", self.sharp_complaint),
            ("sharp_question", self.sharp_question),
            ("complaint_reply", self.complaint_reply),
            ("billing_complaint", self.billing_complaint),
            ("influencer_root", self.influencer_root),
            ("influencer_reaction", self.influencer_reaction),
            ("launch_post", self.launch_post),
            ("bot_spam", self.bot_spam),
            ("sarcasm_post", self.sarcasm_post),
        ] {
            add(&mut out, group, xs);
        }
        out
    }
}

/// The pool's phrases.
pub fn phrases(pool: Pool) -> &'static Phrases {
    match pool {
        Pool::Tune => &TUNE,
        Pool::Test => &TEST,
    }
}

/// Lower-case words of a template; a placeholder (`{b}`) or any character other than a
/// letter, digit or apostrophe ends a word, and placeholders break phrases (`None`).
fn tokens(text: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_placeholder = false;
    for c in text.chars() {
        if in_placeholder {
            if c == '}' {
                in_placeholder = false;
            }
            continue;
        }
        if c == '{' {
            if !word.is_empty() {
                out.push(Some(std::mem::take(&mut word)));
            }
            out.push(None);
            in_placeholder = true;
        } else if c.is_alphanumeric() || c == '\'' {
            word.extend(c.to_lowercase());
        } else if !word.is_empty() {
            out.push(Some(std::mem::take(&mut word)));
        }
    }
    if !word.is_empty() {
        out.push(Some(word));
    }
    out
}

/// Words of a template joined by single spaces (placeholders kept as `{}`): two templates
/// that differ only in case, punctuation or spacing normalise alike.
pub fn normalise(text: &str) -> String {
    tokens(text)
        .into_iter()
        .map(|t| t.unwrap_or_else(|| String::from("{}")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Length of the word runs compared by the overlap checks: two texts sharing this many
/// consecutive words (no placeholder between them) share a phrase.
pub const PHRASE_WORDS: usize = 4;

/// Every run of [`PHRASE_WORDS`] consecutive words of `text` not broken by a placeholder.
pub fn phrases_of(text: &str) -> Vec<String> {
    let toks = tokens(text);
    let mut out = Vec::new();
    for run in toks.split(Option::is_none) {
        let words: Vec<&str> = run.iter().filter_map(|w| w.as_deref()).collect();
        for w in words.windows(PHRASE_WORDS) {
            out.push(w.join(" "));
        }
    }
    out
}

/// Where two pools overlap: templates equal after [`normalise`] (empty ones ignored) and
/// four-word phrases found in both. Empty when the pools are disjoint.
pub fn shared_phrases(a: &Phrases, b: &Phrases) -> Vec<String> {
    let mut whole = std::collections::BTreeMap::new();
    let mut runs = std::collections::BTreeMap::new();
    for (group, t) in a.templates() {
        let n = normalise(t);
        if !n.is_empty() {
            whole.insert(n, (group, t));
        }
        for p in phrases_of(t) {
            runs.insert(p, (group, t));
        }
    }
    let mut out = Vec::new();
    for (group, t) in b.templates() {
        if let Some((g, other)) = whole.get(&normalise(t)) {
            out.push(format!("{group} {t:?} equals {g} {other:?}"));
        }
        for p in phrases_of(t) {
            if let Some((g, other)) = runs.get(&p) {
                out.push(format!("{group} {t:?} shares {p:?} with {g} {other:?}"));
            }
        }
    }
    out
}

/// The string literals of Rust source text (escapes kept as written, `\` line continuations
/// removed), e.g. the word banks of `synth/texts.rs`.
pub fn string_literals(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = source.chars().peekable();
    let mut in_comment = false;
    while let Some(c) = chars.next() {
        if in_comment {
            in_comment = c != '\n';
            continue;
        }
        if c == '/' && chars.peek() == Some(&'/') {
            in_comment = true;
            continue;
        }
        if c != '"' {
            continue;
        }
        let mut lit = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('\n') => {
                        while chars.peek().is_some_and(|c| c.is_whitespace()) {
                            chars.next();
                        }
                    }
                    Some(e) => {
                        lit.push('\\');
                        lit.push(e);
                    }
                    None => {}
                },
                c => lit.push(c),
            }
        }
        out.push(lit);
    }
    out
}

/// Templates of `pool` copied from `source` (Rust text whose string literals are phrases,
/// such as `synth/texts.rs`): equal after [`normalise`], or sharing a four-word phrase.
/// Comments in `source` are ignored.
pub fn copied_phrases(pool: &Phrases, source: &str) -> Vec<String> {
    let lits = string_literals(source);
    let whole: std::collections::BTreeSet<String> = lits
        .iter()
        .map(|l| normalise(l))
        .filter(|n| !n.is_empty())
        .collect();
    let runs: std::collections::BTreeSet<String> =
        lits.iter().flat_map(|l| phrases_of(l)).collect();
    let mut out = Vec::new();
    for (group, t) in pool.templates() {
        let n = normalise(t);
        if !n.is_empty() && whole.contains(&n) {
            out.push(format!("{group} {t:?} is in the source"));
        }
        for p in phrases_of(t) {
            if runs.contains(&p) {
                out.push(format!("{group} {t:?} shares {p:?} with the source"));
            }
        }
    }
    out
}

/// The tuning pool.
pub static TUNE: Phrases = Phrases {
    pool: Pool::Tune,
    stems: &[
        "Quillon", "Marrowby", "Tessary", "Vantro", "Obelin", "Crandle", "Pelloway", "Zintra",
        "Halvern", "Drummel", "Fenwyck", "Yallop", "Corvent", "Blenmore", "Ruskell", "Aldermay",
    ],
    sectors: &[
        Sector {
            suffixes: &["Fibre", "Broadband"],
            things: &["router", "fibre line", "home wifi", "connection"],
            staff: &["engineer", "installer", "field technician"],
        },
        Sector {
            suffixes: &["Bank", "Savings"],
            things: &["debit card", "banking app", "online banking", "card payments"],
            staff: &["branch manager", "cashier", "advisor"],
        },
        Sector {
            suffixes: &["Parcels", "Couriers"],
            things: &["parcel", "delivery slot", "tracking page", "return label"],
            staff: &["driver", "courier", "delivery guy"],
        },
        Sector {
            suffixes: &["Energy", "Power"],
            things: &["smart meter", "gas supply", "electricity", "top-up app"],
            staff: &["meter reader", "fitter", "gas engineer"],
        },
        Sector {
            suffixes: &["Foods", "Market"],
            things: &["click and collect", "self checkout", "meal deal", "loyalty card"],
            staff: &["security guard", "shelf stacker", "store manager"],
        },
        Sector {
            suffixes: &["Mobile", "Telecom"],
            things: &["4g signal", "sim card", "data plan", "phone contract"],
            staff: &["shop assistant", "sales rep", "store clerk"],
        },
    ],
    ambiguous: &[
        AmbiguousWord {
            word: "maple",
            collocations: &["maple syrup", "maple leaves", "maple tree", "sugar maple"],
            posts: &[
                "pancakes drowned in maple syrup this morning 🥞",
                "the maple leaves on our street have gone bright red",
                "our old maple tree came down in the wind and crushed the fence",
                "tapping a sugar maple at the farm, the kids loved it",
                "maple and pecan is the best flavour, fight me",
                "a branch off the huge maple smashed next door's windscreen",
                "that maple by the park is on fire with colour this week",
            ],
        },
        AmbiguousWord {
            word: "pebble",
            collocations: &["pebble beach", "pebble dash", "pebble mosaic"],
            posts: &[
                "long walk on the pebble beach, freezing but worth it",
                "who thought pebble dash was a good idea on every house",
                "kids made a pebble mosaic at school today",
                "stepped on a sharp pebble barefoot and screamed",
                "found a perfectly flat pebble for skimming 😍",
                "pebble beach was packed, couldn't find a spot",
            ],
        },
        AmbiguousWord {
            word: "lantern",
            collocations: &["lantern festival", "paper lantern", "lantern parade"],
            posts: &[
                "lantern festival tonight, the whole river is glowing",
                "a paper lantern caught fire at the parade, scary moment",
                "made a paper lantern with the kids, very wonky",
                "the lantern parade was cancelled due to wind, gutted",
                "hung a lantern in the garden, so cosy",
                "our camping lantern died halfway through the night",
            ],
        },
        AmbiguousWord {
            word: "magpie",
            collocations: &["magpie nest", "lone magpie", "magpie chick"],
            posts: &[
                "a lone magpie outside, one for sorrow...",
                "magpie nest in our hedge, the racket at 5am",
                "a magpie stole my kid's sandwich in the park",
                "spotted a magpie chick learning to fly",
                "that magpie keeps attacking its reflection in my wing mirror",
                "magpie swooped at my head on the walk, terrifying",
            ],
        },
        AmbiguousWord {
            word: "comet",
            collocations: &["the comet", "comet tail", "comet sighting"],
            posts: &[
                "stayed up to see the comet, totally worth it",
                "you can see the comet tail with binoculars tonight",
                "comet sighting from the hills, clear skies",
                "clouds ruined the comet for us again",
                "kids asking a million questions about the comet",
                "set my alarm for 4am to watch the comet",
            ],
        },
    ],
    openers: &["", "", "", "right, ", "so ", "quick q: ", "heads up: ", "tbf ", "welp "],
    tails: &[
        "", "", "", " 🙃", " ngl", " again smh", " this arvo", " x", " fml", " 😤", " (yet again)",
        " ...",
    ],
    noise: &[
        "what a day, need a nap",
        "anyone else addicted to this new podcast",
        "traffic on the ring road is mad",
        "making soup, send recipes",
        "the cat knocked my coffee over again",
        "bin day and i forgot, classic",
    ],
    bg_neutral: &[
        "thinking of moving my {x} over to {b}, anyone tried them",
        "{b} emailed about changes to the {x} terms",
        "just set up the {x} with {b}, fingers crossed",
        "how long does {b} usually take to sort a {x}",
        "saw an advert for {b} at the bus stop",
        "{b} have a new {x} offer on, might look into it",
        "my sister swears by {b} for the {x}",
        "does {b} do student discounts",
        "filled in the {b} survey about their {x}",
        "{b} changed their logo? looks different",
        "got a letter from {b} about my {x}, reading it later",
    ],
    bg_positive: &[
        "honestly {b} sorted my {x} faster than i expected 👏",
        "credit where it's due, {b} were spot on",
        "{b} has been reliable for me for ages now",
        "very smooth experience with {b}, zero hassle",
        "the {x} from {b} just works, love it",
        "small thing but {b} remembered my name, nice touch",
        "five stars for {b}, the {x} was painless",
        "{b} fixed a mistake on my {x} without me even asking",
        "best {x} i've had, cheers {b}",
    ],
    bg_complaint: &[
        "third time this month the {x} from {b} has let me down",
        "{b} still haven't replied to my email about the {x}",
        "really fed up with {b} and their {x} nonsense",
        "spent ages trying to reach {b} about my {x}, nobody picks up",
        "{b} promised a callback yesterday, still nothing",
        "the {x} from {b} is a shambles lately",
        "{b} keep messing up my {x}, so tired of it",
        "why is the {b} {x} so unreliable this year",
        "got fobbed off by {b} about the {x}",
        "{b} closed my ticket without fixing anything",
    ],
    bg_reply: &[
        "oh that's annoying",
        "had the same last year",
        "keep us posted",
        "interesting, didn't know that",
        "which branch was it?",
        "good luck with it",
        "ugh, sounds familiar",
        "yeah they've been like that a while",
        "hope it gets sorted",
        "lol relatable",
        "worth complaining formally",
        "nice one",
    ],
    bg_branded_reply: &[
        "{b} should see this",
        "tagging {b} so they notice",
        "{b} any comment?",
        "maybe dm {b} directly",
        "{b} pls reply to this person",
    ],
    misconduct_root: &[
        "the {s} {b} sent round today was swaying and reeked of vodka, then tried to start on our {x}. sent him packing",
        "{b} {s} shouted at my elderly neighbour and shoved her against the doorframe, she's shaking",
        "watched a {b} {s} punch a customer in the car park earlier. genuinely shocked",
        "our {b} {s} turned up high as a kite and left live wires exposed next to the kids' bedroom",
        "{b} {s} was filming my teenage daughter through the window while he waited. called the police",
        "the {s} from {b} threatened my dad when he asked for id. absolutely vile behaviour",
        "{b} {s} drove off with the ladder still on the roof and nearly took out a cyclist",
        "caught the {b} {s} going through my handbag while i made him a tea",
        "a {b} {s} left the gas hob on full after the visit, the whole hallway stank of it",
        "{b} sent a {s} who was visibly drunk and could not stand up straight",
    ],
    misconduct_reaction: &[
        "this is genuinely scary, glad you're safe",
        "report it to the police, not just the company",
        "how on earth do they hire people like this",
        "i'd be raging. who vets these people",
        "please tell me you got his name",
        "absolutely not ok. sharing",
        "that could've ended so badly",
        "the company has to explain this",
        "this is disgraceful behaviour",
        "omg. hope your family are alright ❤️",
        "people need to see this",
        "screenshotting before it gets deleted",
        "this is a criminal matter honestly",
        "i'm so sorry that happened to you",
    ],
    misconduct_branded: &[
        "{b} you need to deal with your staff right now",
        "boycotting {b} after this",
        "{b} what are you going to do about this",
        "anyone from {b} reading this?",
        "{b} staff vetting clearly doesn't exist",
        "this {b} story is horrifying",
        "{b} owes that family an apology and more",
    ],
    viral_root: &[
        "{b} {s} spotted my son's birthday badge and came back with a little cake and a card. he hasn't stopped smiling 🥹",
        "lost my wallet and a {b} {s} drove 20 minutes to hand it back. restored my faith in people",
        "my gran is 93 and {b} sent someone to set up her {x} for free, they even stayed for tea ❤️",
        "{b} {s} stopped to help a lady who'd fallen in the rain and walked her home. legend",
        "the {b} {s} remembered my late mum and sent flowers. i'm in bits",
        "shoutout to {b}, their {s} talked my anxious kid through the whole thing like a pro",
    ],
    viral_reaction: &[
        "faith in humanity restored",
        "needed this today 🥹",
        "give that person a raise",
        "ok who's cutting onions",
        "pure wholesome content",
        "more stories like this pls",
        "aww this made me tear up",
        "what a gem",
        "absolute sweetheart",
        "sending this to my mum",
    ],
    viral_branded: &[
        "well done {b}, genuinely",
        "{b} winning hearts today",
        "switching to {b} after reading this",
        "{b} doing it properly 👏",
    ],
    slow_complaint: &[
        "{b} {x} keeps dropping out every few minutes",
        "anyone else's {b} {x} crawling this afternoon?",
        "{b} {x} barely working here, been like it since lunch",
        "is something wrong with {b}? my {x} just stopped",
        "{b} what's happening with the {x}, nothing is loading",
        "getting error after error from {b}",
        "{b} {x} has died on me again, third reboot",
        "{b} service is completely broken in my area",
        "still can't use my {x}, {b} please sort it",
        "{b} outage spreading? my mates have lost their {x} too",
        "{b} {x} not working for hours now, useless",
    ],
    slow_question: &[
        "{b} is there maintenance today?",
        "has {b} posted any update",
        "quick check, {b} {x} fine for you?",
        "is there a {b} status page anyone knows of",
    ],
    sharp_complaint: &[
        "{b} {x} just went dead across the whole city??",
        "total blackout on {b}, nothing works at all",
        "{b} down hard right now, can't do anything",
        "wow {b} {x} literally vanished mid call",
        "{b} has crashed, everyone in the office lost it at once",
        "the {b} {x} is completely offline 😳",
        "{b} outage!! it all stopped 5 mins ago",
        "nobody at work can use {b}, massive failure",
        "{b} {x} gone, error screen for everyone",
    ],
    sharp_question: &[
        "{b} you ok? everything just stopped",
        "did {b} just fall over",
        "anyone got info on the {b} failure",
    ],
    complaint_reply: &[
        "same on my side",
        "ours died too",
        "yep, whole street",
        "mine's been awful all day",
        "since this morning for us",
        "+1 here, useless",
    ],
    billing_complaint: &[
        "{b} took my payment twice this month and won't refund it",
        "just checked my statement, {b} billed me double for the {x}",
        "{b} overcharged me by forty quid, nobody can explain why",
        "{b} charged me for a {x} i cancelled in june",
        "why has {b} taken two payments for the same {x}??",
        "{b} billing is a mess, duplicate charges again",
        "{b} debited my account twice and now i'm in the red",
        "{b} refund promised weeks ago, still missing, and another charge came out",
        "got a random {b} charge for a {x} i never ordered",
    ],
    influencer_root: &[
        "been trying {b} for a month for the {x}. honestly solid, no complaints, not an ad",
        "quick thread on why i moved my {x} to {b} (spoiler: it's good)",
        "{b} surprised me this week, the {x} is actually decent",
        "ok {b}, you win. the {x} is great",
    ],
    influencer_reaction: &[
        "good to hear, was considering them",
        "what made you switch?",
        "agreed, been happy too",
        "is it worth it for a family?",
        "noted, thanks!",
        "how's the price though",
    ],
    launch_post: &[
        "the new {b} {x} looks gorgeous, want one",
        "{b} launch today and the {x} is a huge upgrade",
        "just watched the {b} keynote, very tempted",
        "preordered from {b} the second it dropped",
        "{b} finally did it, the new {x} is here 🎉",
        "hyped for the {b} release",
        "{b} new lineup is slick",
        "queueing outside {b} for the launch lol",
    ],
    bot_spam: &[
        "🎁 {b} free gift card giveaway, tap the link in bio to grab yours",
        "{b} bonus credits unlocked!! get them now before they expire 🔥",
        "get {b} rewards instantly, verify your wallet here 👉",
    ],
    sarcasm_post: &[
        "love how {b} makes me wait two hours for a reply, top notch",
        "wow {b}, another cancelled {x}, you really spoil me",
        "so grateful {b} broke my {x} again, what would i do without the drama",
        "amazing how {b} can lose the same {x} three times, talent",
        "10/10 customer service from {b}, still no answer after 4 days 🙃",
        "thanks {b} for the lovely surprise of no {x} this morning",
        "nothing says premium like {b} ignoring your emails for a week",
        "{b} really outdid themselves today, the {x} is a complete disaster 👏",
        "gotta hand it to {b}, failing at the {x} so consistently takes effort",
    ],
};

/// The held-out pool: used only with test seeds.
pub static TEST: Phrases = Phrases {
    pool: Pool::Test,
    stems: &[
        "Korvane",
        "Umbrisk",
        "Stillwick",
        "Yarrowe",
        "Nettleby",
        "Ospreyn",
        "Calverin",
        "Thrane",
        "Ibbotsen",
        "Wexmoor",
        "Glimmerdon",
        "Quorvi",
        "Lindquay",
        "Sollicent",
        "Verrault",
        "Dunmarrow",
    ],
    sectors: &[
        Sector {
            suffixes: &["Air", "Airways"],
            things: &["flight", "boarding app", "checked bag", "seat booking"],
            staff: &["pilot", "cabin crew member", "gate agent"],
        },
        Sector {
            suffixes: &["Eats", "Dash"],
            things: &[
                "takeaway order",
                "delivery app",
                "dinner order",
                "promo code",
            ],
            staff: &["rider", "courier rider", "driver partner"],
        },
        Sector {
            suffixes: &["Hotels", "Stays"],
            things: &[
                "room booking",
                "key card",
                "breakfast buffet",
                "loyalty points",
            ],
            staff: &["receptionist", "night porter", "housekeeper"],
        },
        Sector {
            suffixes: &["Rail", "Trains"],
            things: &["train", "season ticket", "ticket app", "seat reservation"],
            staff: &["conductor", "guard", "ticket inspector"],
        },
        Sector {
            suffixes: &["Pharmacy", "Chemist"],
            things: &[
                "prescription",
                "repeat order",
                "vaccine slot",
                "pharmacy app",
            ],
            staff: &["pharmacist", "dispenser", "counter assistant"],
        },
        Sector {
            suffixes: &["TV", "Stream"],
            things: &[
                "streaming app",
                "live sport stream",
                "subscription",
                "tv box",
            ],
            staff: &["call centre agent", "home install tech", "aerial fitter"],
        },
        Sector {
            suffixes: &["Rides", "Cabs"],
            things: &["ride", "cab app", "airport pickup", "fare estimate"],
            staff: &["cab driver", "chauffeur", "ride driver"],
        },
        Sector {
            suffixes: &["Gym", "Fitness"],
            things: &["membership", "class booking", "gym app", "locker"],
            staff: &["personal trainer", "front desk guy", "lifeguard"],
        },
    ],
    ambiguous: &[
        AmbiguousWord {
            word: "heron",
            collocations: &["grey heron", "heron pond", "heron nest"],
            posts: &[
                "a grey heron just ate every fish in our pond 😤",
                "heron standing perfectly still by the canal",
                "the heron nest in the park has chicks",
                "watched a heron swallow an eel whole",
                "heron pond walk with the dog",
                "a heron flew straight into the conservatory glass",
            ],
        },
        AmbiguousWord {
            word: "juniper",
            collocations: &["juniper berries", "juniper bush", "juniper gin"],
            posts: &[
                "crushed juniper berries into the stew, game changer",
                "juniper gin and tonic on the patio",
                "our juniper bush is dying and i don't know why",
                "juniper smell reminds me of grandma's garden",
                "pruned the juniper, hands covered in scratches",
                "juniper berries for the cured salmon",
            ],
        },
        AmbiguousWord {
            word: "kite",
            collocations: &["kite festival", "stunt kite", "red kite"],
            posts: &[
                "kite festival on the beach today, sky full of colour",
                "a red kite circling over the field",
                "my stunt kite snapped in the gusts 😭",
                "flew a kite with my niece, she was thrilled",
                "kite string got tangled in the power lines, yikes",
                "kite surfing looks terrifying",
            ],
        },
        AmbiguousWord {
            word: "willow",
            collocations: &["willow tree", "weeping willow", "willow basket"],
            posts: &[
                "sat under the weeping willow all afternoon",
                "weaving a willow basket at the workshop",
                "the willow tree by the river fell across the path",
                "willow branches everywhere after the storm",
                "planted a willow by the pond",
                "willow warbler singing this morning",
            ],
        },
        AmbiguousWord {
            word: "saffron",
            collocations: &["saffron rice", "saffron buns", "saffron threads"],
            posts: &[
                "saffron rice with everything this week",
                "baked saffron buns for the first time",
                "paid a fortune for saffron threads, worth it",
                "spilled saffron on my white shirt, ruined",
                "saffron sunset over the bay tonight",
                "saffron risotto is my comfort food",
            ],
        },
    ],
    openers: &[
        "",
        "",
        "",
        "ok real talk: ",
        "pls help, ",
        "small rant: ",
        "anyway ",
        "psst ",
    ],
    tails: &[
        "",
        "",
        "",
        " 😩",
        " fr",
        " 💀",
        " istg",
        " pfff",
        " tbh tho",
        " (edit: still)",
        " 🤦",
        " jfc",
    ],
    noise: &[
        "dinner was mid",
        "why is the gym so full in january",
        "new phone who dis",
        "rain rain go away",
        "my plants are thriving for once",
        "group chat is chaos today",
    ],
    bg_neutral: &[
        "comparing {b} with two others for my {x}",
        "{b} app update changed the menus around",
        "first time using {b} next week, any tips",
        "{b} newsletter says prices change in spring",
        "what time does {b} support open on sundays",
        "booked the {x} through {b} earlier",
        "colleague recommended {b}, giving it a go",
        "{b} posted a job ad for weekend staff",
        "reading the {b} small print on the {x}",
        "is the {b} {x} any different from last year's",
    ],
    bg_positive: &[
        "genuinely impressed with {b} today 🙌",
        "{b} made the {x} effortless, will use again",
        "no drama with {b} at all, refreshing",
        "the {b} team were kind and quick",
        "{b} {x} was better than advertised",
        "really happy i picked {b}",
        "top marks to {b} for the {x}",
        "{b} always delivers for me",
        "had a great {x} with {b}, thank u",
    ],
    bg_complaint: &[
        "{b} lost track of my {x} again, unreal",
        "waited forever for {b} to answer the chat",
        "{b} {x} was a letdown this time",
        "not impressed with {b} lately at all",
        "{b} sent me the wrong {x} confirmation twice",
        "{b} keeps changing things without telling anyone",
        "the {b} {x} is worse than it used to be",
        "{b} never answers emails, honestly",
        "asked {b} for help and got a copy paste reply",
        "{b} please stop ignoring my complaint",
    ],
    bg_reply: &[
        "that's rough",
        "happened to my cousin too",
        "update us pls",
        "huh, never had that",
        "where was this?",
        "fingers crossed for you",
        "oof",
        "they used to be better",
        "did you get anywhere?",
        "same energy as last week",
        "escalate it",
        "nice 👍🏽",
    ],
    bg_branded_reply: &[
        "{b} look at this",
        "@-ing {b} for visibility",
        "{b} thoughts?",
        "try messaging {b} on here",
        "{b} sort this person out",
    ],
    misconduct_root: &[
        "the {s} at {b} was openly intoxicated on shift, slurring and stumbling into customers",
        "{b} {s} grabbed my arm hard enough to bruise because i asked a question. photos attached",
        "just saw a {b} {s} spit at a woman in a wheelchair. i'm livid",
        "the {b} {s} kept making racist jokes at my husband the whole time 😡",
        "{b} {s} lit a cigarette right beside the fuel pump, is this normal??",
        "{b} {s} was nodding off and smelled like weed while handling my {x}",
        "reporting {b}: their {s} followed me to my car and wouldn't leave me alone",
        "a {s} working for {b} kicked my dog and laughed about it",
        "the {s} from {b} came at me with a box cutter when i complained. i'm not ok",
        "{b}'s {s} was downing cans on duty and then insisted on dealing with my {x}",
    ],
    misconduct_reaction: &[
        "wtaf, are you alright?",
        "get a police reference number asap",
        "who on earth employs someone like that",
        "boosting so more people see",
        "that's assault, plain and simple",
        "genuinely shaking reading this",
        "keep every receipt and photo",
        "nope nope nope. never using them",
        "this should be on the local news",
        "how is he still working there",
        "vile. hugs to you 🫂",
        "so many red flags in one visit",
        "ffs, somebody could have died",
        "i'd be filing a formal complaint tonight",
    ],
    misconduct_branded: &[
        "{b} explain yourselves",
        "deleting the {b} app over this",
        "{b} is trending and for good reason",
        "shame on {b} for employing him",
        "{b} hr department, over to you",
        "not giving {b} another penny",
        "{b} silence on this is deafening",
    ],
    viral_root: &[
        "a {b} {s} noticed i was panicking and sat with me until i calmed down. kindness matters",
        "{b} upgraded my {x} for free after hearing it was our anniversary 🥂",
        "my autistic son adores {b} and their {s} let him help for a minute. pure joy",
        "this {b} {s} found my dog wandering and brought him home 🐶😭",
        "{b} went way beyond for my dad's last trip, thank you from all of us",
        "{b} {s} bought a homeless guy lunch on his break and didn't know i saw",
    ],
    viral_reaction: &[
        "crying on the bus rn",
        "promote this human immediately",
        "the internet needs more of this",
        "love love love this",
        "my heart 😭",
        "good people still exist",
        "this restored something in me",
        "10/10 human being",
        "okay this got me",
        "bookmarking for bad days",
    ],
    viral_branded: &[
        "{b} staff training clearly on point",
        "big respect to {b}",
        "{b} just earned a customer",
        "{b} hire more people like this",
    ],
    slow_complaint: &[
        "{b} {x} getting flakier by the hour",
        "{b} {x} timing out over and over, not fun",
        "uh oh, {b} {x} is refusing to cooperate since midday",
        "{b} {x} painfully slow and now failing outright",
        "can't get {b} to work no matter what i try",
        "{b} something's broken on your end, the {x} won't load",
        "my {x} with {b} has been unusable most of the afternoon",
        "{b} glitching for the whole family now",
        "{b} {x} keeps spinning forever then fails",
        "we've lost {b} in our building, neighbours too",
        "{b} fix your {x} pls, it's been hours",
    ],
    slow_question: &[
        "{b} any known issues today?",
        "is {b} doing upgrades or something",
        "did {b} announce works tonight",
        "what's up with {b} atm",
    ],
    sharp_complaint: &[
        "{b} {x} just died for everyone at once wtf",
        "{b} completely offline, error 503 everywhere",
        "{b} collapsed, not a single thing loads",
        "the whole {b} {x} went poof",
        "{b} is fully down, my entire street lost it",
        "{b} broke in the middle of my booking, nothing works now",
        "every {b} {x} in the country just failed?",
        "{b} massive failure, nothing responds",
        "{b} {x} gone dark instantly 😱",
    ],
    sharp_question: &[
        "{b} what just happened??",
        "anyone else lose {b} a minute ago",
        "{b} are you aware you're offline",
    ],
    complaint_reply: &[
        "exact same in the east end",
        "ours went too",
        "yup, broken for me",
        "no luck here either",
        "my flatmate has the same",
        "can confirm, dead",
    ],
    billing_complaint: &[
        "{b} double-dipped my card for one {x}, fix it",
        "{b} hit my bank two times for a single order",
        "phantom charge from {b} on my statement again",
        "{b} took money i don't owe them, disputing with my bank",
        "{b} invoiced me for two of the {x} when i have one",
        "{b} still owes me a refund and just charged me AGAIN",
        "{b} pulled an extra payment out, now my rent bounced",
        "whoever runs {b} billing, you've charged loads of us twice",
        "{b} charged my card 3 times for one thing",
    ],
    influencer_root: &[
        "my honest review of {b} after six weeks: pretty great {x}, minor niggles",
        "people keep asking what {x} i use: it's {b}, happy with it",
        "{b} sent nothing, paid myself, and i still rate it",
        "not sponsored but {b} quietly nailed their {x}",
    ],
    influencer_reaction: &[
        "ooh might give it a go",
        "did you try the alternatives first?",
        "same experience here",
        "thanks for the honest take",
        "any downsides?",
        "saving this for later",
    ],
    launch_post: &[
        "the fresh {b} {x} is stunning, take my money",
        "{b} release day!! 🥳",
        "{b} reveal slapped ngl",
        "signed up for the new {b} {x} at midnight",
        "{b} just dropped something special",
        "obsessed with the new {b} {x}",
        "{b} event was a vibe",
        "counting down to the new {b} {x}",
    ],
    bot_spam: &[
        "💸 {b} cashback drop live, connect wallet to receive",
        "limited {b} voucher round 🎟️ first 500 only, dm to redeem",
        "{b} x crypto promo, double your deposit today 🚀",
    ],
    sarcasm_post: &[
        "big fan of how {b} just never picks up the phone, truly iconic",
        "wow {b}, a whole week for a reply, speedy",
        "{b} breaking my {x} every weekend is my favourite tradition",
        "cheers {b}, nothing like a broken {x} to start the day",
        "{b} customer service is so good i've now spoken to nine bots",
        "incredible work {b}, my {x} vanished again 🤌",
        "shout out to {b} for teaching me patience, day 5 without my {x}",
        "{b} never disappoints... at disappointing",
        "stellar effort {b}, third botched {x} this month",
    ],
};
