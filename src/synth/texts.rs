//! Word banks for the synthetic stream: per-brand background chatter and the scenario posts.
//!
//! Background texts avoid the words that the risk triage treats as hazards ("gas", "fire",
//! "high", "hit", "drinking", …) so that only the scenarios open watch incidents; the stray
//! courier watch in [`super`] is the deliberate exception.

/// One brand's vocabulary: how people refer to it and what they say about it.
pub struct BrandVoice {
    pub id: &'static str,
    /// Ways of naming the brand inside a sentence (terms, handles, hashtags).
    pub refs: &'static [&'static str],
    /// Base mentions per minute at the daily peak.
    pub peak_rate: f64,
    pub neutral: &'static [&'static str],
    pub positive: &'static [&'static str],
    pub negative: &'static [&'static str],
    /// Share of background posts that are negative (the rest split neutral/positive).
    pub negative_share: f64,
}

pub const OPENERS: &[&str] = &[
    "",
    "",
    "",
    "ok so ",
    "honestly ",
    "quick one: ",
    "update: ",
    "not gonna lie, ",
    "fyi ",
    "hmm ",
    "well ",
    "psa: ",
];

pub const TAILS: &[&str] = &[
    "",
    "",
    "",
    " today",
    " this morning",
    " tbh",
    " lol",
    " again",
    " 🙄",
    " 👍",
    " fwiw",
    " as usual",
    " I guess",
    " this week",
    " 🤷",
];

pub const REPLIES_NEUTRAL: &[&str] = &[
    "same here",
    "did they sort it out?",
    "which area are you in?",
    "+1",
    "following",
    "good to know",
    "what did they say?",
    "ha, classic",
    "is that the new one?",
    "same thing last month",
    "thanks for sharing",
    "hope it works out",
];

pub const VOICES: &[BrandVoice] = &[
    BrandVoice {
        id: "brightline",
        refs: &[
            "Brightline",
            "brightline",
            "@brightlineplumb",
            "#brightline",
            "Brightline Plumbing",
        ],
        peak_rate: 0.35,
        neutral: &[
            "booked {b} for the boiler service next tuesday",
            "does anyone know if {b} covers the north side",
            "{b} quote came through for the bathroom refit",
            "got a reminder text from {b} about the annual service",
            "{b} van parked on our street, someone's getting a new radiator",
            "comparing {b} with the local guys for a new shower",
        ],
        positive: &[
            "{b} fixed our boiler in under an hour, quick and tidy",
            "really pleased with {b}, the radiator is finally warm",
            "shout out to {b} for fitting us in on a sunday",
            "{b} were lovely, explained everything and cleaned up after",
            "new shower installed by {b} and it is great",
        ],
        negative: &[
            "still waiting for {b} to call back about the leaking tap",
            "{b} rescheduled our appointment twice now, so annoying",
            "{b} quote was way more than expected",
            "45 minutes on hold with {b} customer service",
            "{b} left the job half finished, not impressed",
        ],
        negative_share: 0.3,
    },
    BrandVoice {
        id: "velora",
        refs: &[
            "Velora",
            "velora",
            "@veloramotors",
            "#velora",
            "Velora Motors",
        ],
        peak_rate: 0.6,
        neutral: &[
            "test drove the new {b} hatchback at the weekend",
            "anyone know when the {b} facelift lands",
            "{b} showroom opening on the retail park",
            "thinking about the {b} estate for the family",
            "{b} announced the spring lineup",
            "how is range on the {b} ev in winter",
        ],
        positive: &[
            "two years with my {b} and not a single problem",
            "the {b} infotainment update is actually great",
            "{b} service centre was quick and friendly",
            "love the colour options on the new {b}",
        ],
        negative: &[
            "{b} dealership never returned my call",
            "waiting six weeks for a {b} part, ridiculous",
            "{b} app keeps logging me out",
            "paint chip on my new {b} already, disappointed",
        ],
        negative_share: 0.2,
    },
    BrandVoice {
        id: "northwind",
        refs: &[
            "Northwind",
            "northwind",
            "@northwindhelp",
            "#northwind",
            "Northwind Broadband",
        ],
        peak_rate: 1.4,
        neutral: &[
            "{b} engineer visit booked to upgrade the router",
            "is {b} fibre available in the new estate",
            "switching to {b} next month, any tips",
            "{b} sent a new router, setting it up now",
            "{b} price for the 500 meg plan looks fine",
            "what dns do people use with {b}",
        ],
        positive: &[
            "{b} speeds have been solid all week",
            "{b} support chat sorted my issue in five minutes",
            "gaming on {b} fibre is smooth, no complaints",
            "moved house and {b} had us online the same day, nice",
        ],
        negative: &[
            "{b} wifi a bit slow tonight",
            "{b} bill went up again this year",
            "{b} router needs a reboot every other day",
            "{b} support chatbot is useless",
            "lag on {b} every evening around eight",
        ],
        negative_share: 0.3,
    },
    BrandVoice {
        id: "orchard",
        refs: &[
            "Orchard Mobile",
            "@orchardmobile",
            "#orchardmobile",
            "Orchard Mobile",
        ],
        peak_rate: 0.4,
        neutral: &[
            "{b} sim arrived, porting my number over",
            "does {b} do esim yet",
            "{b} roaming rates for europe anyone",
            "{b} contract ends next month, shopping around",
        ],
        positive: &[
            "{b} signal in the countryside is surprisingly good",
            "{b} customer care was helpful with my upgrade",
            "cheap data on {b}, happy with it",
        ],
        negative: &[
            "{b} charged me for roaming in the uk, sorting it now",
            "{b} data dropping out on the train again",
            "{b} app won't show my allowance",
        ],
        negative_share: 0.3,
    },
    BrandVoice {
        id: "lumen",
        refs: &[
            "Lumen Energy",
            "lumen energy",
            "@lumenenergy",
            "#lumen",
            "Lumen",
        ],
        peak_rate: 0.5,
        neutral: &[
            "submitted my meter reading to {b}",
            "{b} smart meter install booked",
            "{b} tariff comparison for next winter",
            "switching supplier to {b}, any thoughts",
        ],
        positive: &[
            "{b} refunded my credit balance without any fuss",
            "{b} app makes tracking usage easy, nice",
            "pleasantly surprised by {b} customer service",
        ],
        negative: &[
            "{b} direct debit went up again",
            "{b} estimated bill is nonsense, sent a reading",
            "40 minutes waiting for {b} to answer",
        ],
        negative_share: 0.35,
    },
    BrandVoice {
        id: "kestrel",
        refs: &[
            "Kestrel Couriers",
            "kestrel couriers",
            "@kestreldelivers",
            "#kestrel",
            "Kestrel",
        ],
        peak_rate: 0.9,
        neutral: &[
            "parcel out for delivery with {b}",
            "{b} tracking says tomorrow",
            "{b} pickup booked for the return",
            "does {b} deliver on saturdays",
            "{b} depot opening hours anyone",
        ],
        positive: &[
            "{b} delivered a day early, nice",
            "{b} left the parcel exactly where I asked, thanks",
            "{b} tracking is actually accurate, impressed",
        ],
        negative: &[
            "{b} says delivered but nothing here",
            "{b} left my parcel in the recycling bin",
            "third day waiting for {b}",
            "{b} card through the door while I was home all day",
            "{b} tracking stuck in the depot since monday",
        ],
        negative_share: 0.45,
    },
    BrandVoice {
        id: "harbor",
        refs: &[
            "Harbor Bank",
            "harbor bank",
            "@harborbank",
            "#harborbank",
            "Harbor Bank",
        ],
        peak_rate: 0.5,
        neutral: &[
            "opening a savings pot with {b}",
            "{b} interest rate changes from next month",
            "{b} branch on the high road closing? anyone know",
            "transferring my isa to {b}",
        ],
        positive: &[
            "{b} app is clean and fast, nice work",
            "{b} sorted a fraud alert in minutes, grateful",
            "instant notifications from {b} are handy",
        ],
        negative: &[
            "{b} card declined at the shop for no reason",
            "{b} app down for maintenance again",
            "{b} transfer still pending after two days",
        ],
        negative_share: 0.3,
    },
];

/// Unbranded chatter, including near-misses the matcher must reject.
pub const NOISE: &[&str] = &[
    "anyone watching the match tonight",
    "coffee first, then emails",
    "the brightline train to miami was late again",
    "northwind traders sample database, classic sql exercise",
    "these bulbs are 800 lumens and still dim",
    "saw a kestrel hovering over the motorway verge",
    "harbor seals spotted near the pier this morning",
    "rain again, great",
    "new episode of the podcast is up",
    "the velodrome was packed last night",
    "what is everyone reading this week",
    "brightlines on the tennis court need repainting",
    "just finished a 10k, legs are gone",
    "email me at help@brightline.example if the link breaks",
    "link: https://www.northwind.example/offer?ref=abc",
    "lunch was a disappointment",
];

/// The misconduct scenario.
pub const MISCONDUCT_ROOT: &str = "So the technician @brightlineplumb sent to fix our gas boiler \
has been sitting in his van drinking beer for the last hour. Now he wants to start on the gas \
line. Absolutely not. I have a toddler in this house.";
pub const MISCONDUCT_QUOTES: &[&str] = &[
    "this is terrifying, a gas line??",
    "how is this allowed. disgusting",
    "absolutely unacceptable, someone could die",
    "I would be furious. awful",
    "please report this, that is so dangerous",
    "horrifying. share this",
    "cancelling our service plan after reading this",
    "this is why I check reviews first. terrible",
];
pub const MISCONDUCT_REPLIES: &[&str] = &[
    "omg are you ok??",
    "call the company right now and ask for a different person",
    "this is so scary, stay safe",
    "don't let him touch anything",
    "report him, this is horrible",
    "that's appalling",
    "unbelievable, hope your family is ok",
    "awful. did they send someone else?",
    "wtf",
    "no way. is he still there?",
];
pub const MISCONDUCT_BRANDED: &[&str] = &[
    "never using @brightlineplumb again after that story",
    "brightline plumbing needs to answer for this",
    "#brightline trending for all the wrong reasons",
    "is @brightlineplumb going to say anything about this",
    "brightline responded yet? disgraceful",
];

/// The positive viral scenario.
pub const POSITIVE_ROOT: &str = "Picked up my first new car from @veloramotors today and the \
salesperson had it waiting with a bow and a handwritten note for my late dad's birthday. Made \
my day, thank you Velora 😍";
pub const POSITIVE_QUOTES: &[&str] = &[
    "this is so wholesome ❤️",
    "love this, more of this please",
    "crying at this, lovely",
    "what a kind gesture",
    "this made my day too",
    "best thing on my feed today",
];
pub const POSITIVE_REPLIES: &[&str] = &[
    "congrats!! enjoy the new ride 🎉",
    "so happy for you",
    "your dad would be proud ❤️",
    "amazing, congratulations",
    "beautiful car, enjoy",
    "this is lovely",
];

/// The slow-burn outage scenario.
pub const OUTAGE_POSTS: &[&str] = &[
    "{b} internet down again",
    "no broadband since this morning {b}",
    "{b} is down in the whole street",
    "is {b} down for everyone or just me",
    "{b} outage, working from home is impossible",
    "still no internet {b}, what is going on",
    "{b} status page says nothing but we have no connection",
    "third hour without internet, thanks {b}",
    "{b} router all red lights, no service",
    "called {b}, they admit an outage but no fix time",
];

pub const OUTAGE_TAILS: &[&str] = &[
    "",
    "",
    " 😡",
    " since 7am",
    " and I have meetings all day",
    " again this month",
    " #outage",
    " any eta?",
    ", kids can't do homework",
    " in the north end",
    " ffs",
    " across town apparently",
    ", the hotline just rings out",
];

/// The bot burst scenario.
pub const BOT_POSTS: &[&str] = &[
    "🚀 {b} airdrop is LIVE, claim your free tokens now at lumen-drop.example 💰",
    "🚀 {b} airdrop LIVE now, claim your free tokens at lumen-drop.example 💰💰",
    "{b} giveaway 🚀 claim your free tokens now, link in bio 💰",
];

/// The ambiguous-name scenario: fruit picking, not the mobile network.
pub const ORCHARD_EXCLUDED: &[&str] = &[
    "pick your own day at the apple orchard 🍎",
    "cherry orchard is open for picking this weekend",
    "the kids loved the apple orchard today",
    "apple orchard picnic, perfect weather",
    "community orchard planting day, come along",
];
pub const ORCHARD_LEAKS: &[&str] = &[
    "orchard day out with the kids 🍎 lovely",
    "cider tasting at the orchard, great afternoon",
    "orchard walk in the sunshine",
];

/// The influencer scenario.
pub const INFLUENCER_ROOT: &str = "ok, moved my savings to @harborbank this morning. the app is \
genuinely decent and the transfer took two minutes. not sponsored, just impressed";
pub const INFLUENCER_REPLIES: &[&str] = &[
    "been with them two years, solid",
    "how is the interest rate",
    "is it better than the big banks",
    "thanks for the tip",
    "switched last month, agree",
];

/// The stray watch: one risky post that never builds.
pub const STRAY_WATCH: &str = "the kestrel courier who dropped off my parcel smelled of alcohol \
and could barely stand";

/// Sarcastic service complaints: positive words, negative facts.
pub const SARCASM_POSTS: &[&str] = &[
    "great job {b}, 3 hours on hold",
    "love spending my evening on hold with {b}",
    "wow {b}, two hours waiting for a callback, amazing service",
    "fantastic, {b} cancelled my appointment again",
    "thanks {b} for the third missed appointment this week",
    "brilliant customer service from {b}, still waiting after 90 minutes",
    "so glad I pay {b} to be kept on hold all afternoon",
    "{b} support is a joke, on hold since lunch",
];

/// A product launch people are excited about.
pub const LAUNCH_POSTS: &[&str] = &[
    "the new {b} ev launch looks amazing",
    "watching the {b} launch stream, love the design",
    "{b} just announced the new model, can't wait",
    "that {b} reveal was brilliant",
    "pre-ordered the new {b}, so excited",
    "{b} launch event was great, the interior is gorgeous",
];

/// Customers charged twice.
pub const BILLING_POSTS: &[&str] = &[
    "{b} charged me twice for the same boiler service",
    "anyone else double charged by {b} this month",
    "{b} took the payment twice and nobody answers",
    "still waiting on a refund from {b} after being billed twice",
    "{b} direct debit went out twice, overdrawn now",
];

/// A large account's mildly critical post.
pub const LONE_INFLUENCER: &str = "not gonna lie the @harborbank app was a bit slow this morning. \
probably fine now";
