//! Unit tests of the keyword classifier: per-category examples, negation, risk tiers,
//! model validation and a never-panics property.

use super::*;

fn model() -> &'static KeywordClassifier {
    static MODEL: std::sync::OnceLock<KeywordClassifier> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| KeywordClassifier::try_embedded().unwrap())
}

fn top(text: &str) -> Option<Category> {
    model().classify(text).top().map(|(c, _)| c)
}

fn assert_top(cat: Category, texts: &[&str]) {
    let m = model();
    for t in texts {
        let c = m.classify(t);
        assert_eq!(c.top().map(|(c, _)| c), Some(cat), "{t:?} → {c:?}");
        assert!(c.score(cat) >= 0.5, "{t:?} weak {cat}: {c:?}");
    }
}

fn risk(text: &str) -> f32 {
    model().classify(text).risk
}

#[test]
fn classify_embedded_model_is_valid() {
    let m = model();
    assert_eq!(m.version(), "2026.12.9");
    assert!(m.phrase_count() > 300);
    assert_eq!(m.name(), "keyword");
}

#[test]
fn classify_category_index_matches_all_order() {
    for (i, c) in Category::ALL.iter().enumerate() {
        assert_eq!(*c as usize, i);
    }
}

#[test]
fn classify_conduct_examples() {
    assert_top(
        Category::Conduct,
        &[
            "so the plumber they sent is drinking in his van @brightlineplumb",
            "the driver was rude and shouted at my mum",
            "their installer swore at me and was so aggressive",
            "the rep made racist comments, absolutely disgusting",
            "guy they sent was clearly stoned",
        ],
    );
}

#[test]
fn classify_safety_examples() {
    assert_top(
        Category::Safety,
        &[
            "I can smell gas in the kitchen since the repair",
            "sparks coming out of the new socket, this is dangerous",
            "carbon monoxide alarm going off after the boiler service",
            "this is terrifying, alcohol and a gas line??",
            "someone could die",
        ],
    );
}

#[test]
fn classify_outage_examples() {
    assert_top(
        Category::Outage,
        &[
            "@lumenmobile no signal in the whole of Leeds",
            "internet is down AGAIN",
            "app not working, can't log in",
            "Is anyone else's broadband offline? total outage here",
        ],
    );
}

#[test]
fn classify_billing_examples() {
    assert_top(
        Category::Billing,
        &[
            "charged twice for March, still no refund",
            "they overcharged me £40 on my bill",
            "double charged by direct debit this month",
            "hidden fees on the invoice again",
        ],
    );
}

#[test]
fn classify_service_examples() {
    assert_top(
        Category::Service,
        &[
            "still waiting for the engineer",
            "technician was late, again",
            "great job, 3 hours on hold",
            "third no show this week, customer service useless",
            "appointment cancelled and rescheduled with no response",
        ],
    );
}

#[test]
fn classify_positive_examples() {
    assert_top(
        Category::Positive,
        &[
            "love this, the engineer was amazing",
            "thank you so much, you made my day",
            "brilliant service, highly recommend",
            "wholesome moment, delighted with the fitter",
        ],
    );
}

#[test]
fn classify_spam_examples() {
    assert_top(
        Category::Spam,
        &[
            "WIN a free phone from #lumenmobile click here",
            "airdrop live now, dm me for promo code",
            "follow back for free followers",
            "crypto giveaway, claim your prize https://x.example/abc",
        ],
    );
}

#[test]
fn classify_unrelated_text_scores_nothing_high() {
    let m = model();
    for t in [
        "apple orchard picking with the kids",
        "",
        "   ",
        "🍎🍏",
        "https://example.com/fire @gasleak",
    ] {
        let c = m.classify(t);
        assert!(c.scores.iter().all(|&s| s < 0.5), "{t:?}: {c:?}");
        assert!(c.risk < RISK_MEDIUM, "{t:?}: {c:?}");
    }
    assert_eq!(top("apple orchard picking with the kids"), None);
}

#[test]
fn classify_sarcasm_scores_service_over_positive() {
    let c = model().classify("great job, 3 hours on hold");
    assert!(c.score(Category::Service) > c.score(Category::Positive));
}

#[test]
fn classify_negation_discounts_phrase() {
    let m = model();
    assert_eq!(
        m.classify("the engineer was not late")
            .score(Category::Service),
        0.0
    );
    assert!(m.classify("the engineer was late").score(Category::Service) > 0.4);
    assert_eq!(m.classify("he wasn't drunk").score(Category::Conduct), 0.0);
    assert_eq!(
        m.classify("never rude, always kind")
            .score(Category::Conduct),
        0.0
    );
    // a cue one or two words before negates, three words before does not
    assert_eq!(m.classify("not really late").score(Category::Service), 0.0);
    assert!(
        m.classify("not that it matters, late")
            .score(Category::Service)
            > 0.0
    );
}

#[test]
fn classify_negation_discounts_risk() {
    assert!(risk("the technician was not drunk") < RISK_MEDIUM);
    assert!(risk("no gas leak found, all fine") < RISK_MEDIUM);
}

#[test]
fn classify_matches_whole_words_only() {
    let m = model();
    let c = m.classify("gastro pub firewall highlights");
    assert_eq!(c.risk, 0.0);
    assert_eq!(c.score(Category::Safety), 0.0);
}

#[test]
fn classify_longest_phrase_shadows_shorter() {
    let m = model();
    let c = m.classify("my gas bill from the engineer visit");
    assert_eq!(c.risk, 0.0, "{c:?}");
    assert!(c.score(Category::Billing) > 0.4);
    let c = m.classify("fire sale on all phones");
    assert_eq!(c.score(Category::Safety), 0.0);
}

#[test]
fn slang_praise_is_not_a_hazard_but_a_real_fire_is() {
    let m = model();
    for t in [
        "the new drop is fire",
        "its fire, want one",
        "they killed it with this launch",
        "i'm dead, the ad is hilarious",
    ] {
        let c = m.classify(t);
        assert_eq!(c.risk, 0.0, "{t:?}: {c:?}");
        assert_eq!(c.score(Category::Safety), 0.0, "{t:?}: {c:?}");
        assert_eq!(c.score(Category::Outage), 0.0, "{t:?}: {c:?}");
    }
    for t in [
        "there is fire coming out of the boiler",
        "the van caught fire outside our house",
        "fire in the store, everyone out",
    ] {
        let c = m.classify(t);
        assert!(c.score(Category::Safety) > 0.5, "{t:?}: {c:?}");
        assert!(c.risk > 0.0, "{t:?}: {c:?}");
    }
}

/// Everyday phrases that borrow a hazard's word ("i grabbed my bag", "hit the brakes",
/// "drunk on happiness", "smoking hot", "locked eyes") are no allegation beside a staff noun:
/// an independent replay of a ride-hailing brand found them opening about 14 misconduct
/// watches a day (2026-12-06). The same verbs done *to* someone still are.
#[test]
fn everyday_phrases_with_a_hazards_word_are_no_allegation() {
    for t in [
        "driver waited for me while i grabbed my bag, legend",
        "the driver hit the brakes just in time when a fox ran out, great reflexes",
        "driver punched the address in wrong but fixed it fast",
        "our driver was drunk on happiness, just became a grandpa",
        "the tech was smoking hot ngl",
        "driver locked eyes with me in the mirror and we both sang along",
        "we grabbed a coffee while the engineer finished, lovely guy",
    ] {
        assert!(risk(t) < 0.6, "{t:?}: {:?}", model().classify(t));
    }
    for t in [
        "the driver grabbed my friend's wrist and wouldn't let her out",
        "the engineer was drunk and smelled of alcohol",
        "the courier grabbed my arm at the door",
        "the driver punched my husband",
    ] {
        assert!(risk(t) >= 0.6, "{t:?}: {:?}", model().classify(t));
    }
}

/// Complaints in Spanish, Portuguese, French, German, Italian and Dutch name their failure in
/// the lexicon's 2026.12.7 phrases, so a brand's complaint streams count them as English ones
/// (written for the unit test, not taken from any replay).
#[test]
fn complaints_in_six_other_languages_are_complaints_of_their_kind() {
    let outage = [
        "la app de acme no funciona desde esta mañana",
        "acme está caído otra vez, no puedo entrar",
        "o app da acme está fora do ar de novo",
        "acme não funciona, não consigo entrar na conta",
        "acme ne marche plus depuis ce matin",
        "encore une panne chez acme, impossible de se connecter",
        "acme funktioniert nicht, schon wieder eine Störung",
        "acme ist nicht erreichbar, kein Internet seit Stunden",
        "acme non funziona da ieri sera",
        "l'app di acme è fuori servizio",
        "acme werkt niet, weer een storing",
        "al uren geen internet bij acme",
    ];
    let billing = [
        "acme me cobraron dos veces el mismo mes",
        "cobrança indevida da acme de novo",
        "acme m'a prélevé deux fois ce mois-ci",
        "acme hat doppelt abgebucht",
        "doppio addebito sulla carta da acme",
        "acme heeft dubbel afgeschreven",
    ];
    let service = [
        "llevo esperando tres días y nadie contesta en acme",
        "ninguém atende na acme, pedido nunca chegou",
        "colis acme toujours pas reçu, personne ne répond",
        "acme paket nie angekommen, niemand antwortet",
        "ordine acme mai arrivato, nessuno risponde",
        "pakket van acme nooit aangekomen, geen reactie",
    ];
    for (cat, texts) in [
        (Category::Outage, &outage[..]),
        (Category::Billing, &billing[..]),
        (Category::Service, &service[..]),
    ] {
        for t in texts {
            let c = model().classify(t);
            assert_eq!(c.top().map(|(c, _)| c), Some(cat), "{t:?} → {c:?}");
            assert!(
                crate::domain::scored::is_complaint(&c.scores),
                "{t:?} is no complaint: {c:?}"
            );
        }
    }
}

/// A staff noun beside a misconduct or danger word in those languages opens a watch, as in
/// English; a danger with harm alone is the medium tier.
#[test]
fn allegations_in_other_languages_score_the_risk_of_english_ones() {
    for t in [
        "el técnico de acme llegó borracho a mi casa",
        "o entregador da acme me ameaçou na porta",
        "le technicien acme était ivre",
        "der Techniker von acme war betrunken und hat mich bedroht",
        "il tecnico di acme era ubriaco",
        "de monteur van acme was dronken",
        "el técnico dejó una fuga de gas",
        // Harassment (2026.12.8).
        "el repartidor de acme me manoseó en la puerta",
        "o entregador da acme me assediou",
        "le livreur acme m'a harcelée",
        "der Fahrer von acme hat mich sexuell belästigt",
        "il corriere di acme mi ha molestata",
        "de bezorger van acme heeft me lastiggevallen",
    ] {
        assert!(risk(t) >= RISK_WATCH, "{t:?}: {:?}", model().classify(t));
    }
    for t in [
        "huele a gas en todo el edificio",
        "fuite de gaz dans la rue",
    ] {
        let r = risk(t);
        assert!((RISK_MEDIUM..RISK_HIGH).contains(&r), "{t:?}: {r}");
    }
}

/// Everyday talk and praise in those languages states no grievance: no complaint, no risk.
#[test]
fn everyday_talk_in_other_languages_states_no_grievance() {
    for t in [
        "me encanta el nuevo menú de acme",
        "no sé si acme abre el domingo",
        "gracias acme, el técnico fue muy amable",
        "chegou rápido, adorei o pedido da acme",
        "la livraison acme est arrivée, merci",
        "le chauffeur acme était super sympa",
        "ich liebe die neue acme app",
        "der Fahrer von acme war sehr freundlich",
        "il servizio di acme è ottimo",
        "de app van acme werkt prima",
        "ni idea de lo que pasa con acme, me da igual",
        // Drunk with joy, and drunk passengers beside a patient driver (2026.12.8).
        "el conductor de acme estaba borracho de felicidad con el premio",
        "le chauffeur acme était ivre de joie",
        "de acme chauffeur blijft altijd geduldig met dronken passagiers",
        "the acme driver is so patient with drunk passengers on saturdays",
    ] {
        let c = model().classify(t);
        assert!(
            !crate::domain::scored::is_complaint(&c.scores) && c.risk < RISK_WATCH,
            "{t:?}: {c:?}"
        );
    }
}

/// Chinese, Japanese and Korean do not put spaces between words: their phrases (2026.12.9)
/// are found anywhere in the text, with the same weights and risk tiers as the others.
#[test]
fn chinese_japanese_and_korean_phrases_are_found_inside_unspaced_text() {
    for (text, cat) in [
        (
            "acmeのアプリにログインできない、また通信障害？",
            Category::Outage,
        ),
        ("acme又崩溃了，登录不了", Category::Outage),
        ("acme 앱 또 먹통이네요", Category::Outage),
        ("acmeから二重請求された", Category::Billing),
        ("acme重复扣款，还不给退款", Category::Billing),
        (
            "荷物がずっと届かない、acmeから連絡がない",
            Category::Service,
        ),
        ("acme 一直没到，客服不理", Category::Service),
        ("acme 배송이 안 와요, 연락이 없어요", Category::Service),
    ] {
        let c = model().classify(text);
        assert_eq!(c.top().map(|(c, _)| c), Some(cat), "{text:?} → {c:?}");
        assert!(
            crate::domain::scored::is_complaint(&c.scores),
            "{text:?} is no complaint: {c:?}"
        );
    }
    for text in [
        "acmeの配達員が酔っ払っていた",
        "acme的司机喝醉了还在开车",
        "acme 택배기사님이 술 취한 상태였어요",
    ] {
        assert!(
            risk(text) >= RISK_WATCH,
            "{text:?}: {:?}",
            model().classify(text)
        );
    }
    // Praise, news and a longer word that holds a phrase's characters state no grievance.
    for text in [
        "acmeの新商品が爆発的人気",
        "acme 障害者支援プログラムが始まった",
        "acme最高、ありがとう",
        "acme的新功能太好用了",
        "acme 배송 빨라요 감사합니다",
    ] {
        let c = model().classify(text);
        assert!(
            !crate::domain::scored::is_complaint(&c.scores) && c.risk < RISK_WATCH,
            "{text:?}: {c:?}"
        );
    }
}

#[test]
fn classify_repeated_phrase_counts_once() {
    let m = model();
    let once = m.classify("refund");
    let many = m.classify("refund refund refund refund");
    assert_eq!(once, many);
}

#[test]
fn classify_risk_high_for_staff_with_misconduct_or_danger() {
    for t in [
        "so the plumber they sent is drinking in his van @brightlineplumb",
        "technician drinking before gas repair",
        "the engineer was drunk",
        "courier punched my dog",
        "the guy they sent was high",
        "installer left a gas leak and drove off",
        "their electrician caused a fire in my loft",
        "the driver threatened me",
        "the fitter stole my watch",
    ] {
        let c = model().classify(t);
        assert!(c.risk >= RISK_HIGH, "{t:?}: {c:?}");
        assert_eq!(c.risk_level(), RiskLevel::High);
        assert!(!c.risk_terms.is_empty());
    }
}

/// Misconduct told by kind of harm rather than by the phrases the lexicon grew up with (2026.12.1):
/// other sectors' staff, and violence, abuse, confinement, theft, privacy, intoxication,
/// driving, negligence and hygiene words.
#[test]
fn classify_risk_high_for_misconduct_in_other_words_and_sectors() {
    for t in [
        "the cab driver was speeding the whole way, on his phone at every light",
        "hotel porter let himself in while we were asleep",
        "our care worker pocketed the cash in the kitchen drawer",
        "the cleaner was going through my things and took photos of my passport",
        "the chef had no gloves and there were mouse droppings behind the fryer",
        "the installer tackled my teenage son in the hallway",
        "someone from the store followed me to the car park and tried to kiss me",
        "the removals crew were hammered by lunchtime",
    ] {
        let c = model().classify(t);
        assert!(c.risk >= RISK_WATCH, "{t:?}: {c:?}");
    }
    // Everyday words for the same places and people stay below a watch.
    for t in [
        "the cab driver was lovely and helped with the bags",
        "our cleaner is a legend",
        "social security office was closed",
        "the chef recommended the risotto",
        "the installer was running late again",
    ] {
        let c = model().classify(t);
        assert!(c.risk < RISK_WATCH, "{t:?}: {c:?}");
    }
}

/// The posts of one development set (`models/categories/dev/SET.txt`), one per line.
fn dev_set(set: &str) -> Vec<String> {
    let path = format!(
        "{}/models/categories/dev/{set}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(String::from)
        .collect()
}

/// Watches opened on one development set: (opened, posts).
fn watches(set: &str) -> (usize, usize) {
    let posts = dev_set(set);
    let opened = posts.iter().filter(|t| risk(t) >= RISK_WATCH).count();
    (opened, posts.len())
}

/// The development sets' numbers (models/categories/dev/README.md) as floors and ceilings: the
/// misconduct the lexicon was widened on keeps its recall, the blind set (written after)
/// keeps what it caught, and praise, complaints and neutral posts about the same staff stay
/// below a watch.
#[test]
fn classify_dev_sets_hold_their_recall() {
    let (tune, n) = watches("tune_risky");
    assert!(
        tune * 100 >= n * 90,
        "tuning misconduct: {tune} of {n} open a watch"
    );
    let (blind, n) = watches("blind_risky");
    assert!(
        blind * 100 >= n * 45,
        "blind misconduct: {blind} of {n} open a watch"
    );
    for set in ["tune_benign", "blind_benign"] {
        let (opened, n) = watches(set);
        assert!(opened * 100 <= n * 4, "{set}: {opened} of {n} open a watch");
    }
}

/// Posts of a service-complaint development set the lexicon alone recognises (a service-group
/// score of at least `COMPLAINT_SCORE`), and its size.
fn complaints(set: &str) -> (usize, usize) {
    let posts = dev_set(set);
    let service = [Category::Outage, Category::Billing, Category::Service];
    let hit = posts
        .iter()
        .filter(|t| {
            let c = model().classify(t);
            service.iter().any(|&k| c.score(k) >= 0.6)
        })
        .count();
    (hit, posts.len())
}

/// The service-complaint sets' numbers (models/categories/dev/README.md): the everyday
/// complaints version 2026.12.3 was widened on stay recognised, the blind set keeps what it
/// had, and the chatter about the same services stays mostly unrecognised.
#[test]
fn classify_complaint_dev_sets_hold_their_recall() {
    let (tune, n) = complaints("tune_complaints");
    assert!(tune * 100 >= n * 75, "tuning complaints: {tune} of {n}");
    let (blind, n) = complaints("blind_complaints");
    assert!(blind * 100 >= n * 10, "blind complaints: {blind} of {n}");
    let (chatter, n) = complaints("tune_chatter");
    assert!(chatter * 100 <= n * 16, "tuning chatter: {chatter} of {n}");
    let (chatter, n) = complaints("blind_chatter");
    assert!(chatter * 100 <= n * 5, "blind chatter: {chatter} of {n}");
}

/// Version 2026.12.2 widened the triage by kind of harm; the words that read as something
/// else in ordinary posts about the same services stay out (measured on the development
/// sets and on 26,568 SemEval/TweetEval tweets).
#[test]
fn classify_risk_ignores_everyday_senses_of_new_hazards() {
    for t in [
        "the engineer said the app crashed and my signal dropped again",
        "the bank manager froze our joint account",
        "please alight at the next stop, said the driver",
        "the store was rammed, the cashier was run off her feet",
        "the technician had us in stitches, lovely guy",
        "the rep said my bill went up because of the new tariff",
        "my parcel was left outside by the courier again",
        "the agent kept messaging me about an upgrade",
        "the engineer smashed it, wifi is flying now",
        "the courier posted my parcel through the letterbox",
        "the driver said the deal fell through",
    ] {
        assert!(risk(t) < RISK_WATCH, "{t:?}: {:?}", model().classify(t));
    }
    for t in [
        "the delivery driver was doing 80mph down our road with kids playing",
        "their engineer left the manhole open and my dad fell down the hole",
        "the carer left my nan in soaked sheets all night",
        "the pharmacist gave my son the wrong dose and he ended up in hospital",
        "the gym instructor kept putting his hands on my sister",
        "the installer cut a gas pipe and left it uncapped",
    ] {
        assert!(risk(t) >= RISK_WATCH, "{t:?}: {:?}", model().classify(t));
    }
}

#[test]
fn classify_risk_terms_explain_high_risk() {
    let c = model().classify("so the plumber they sent is drinking near the gas meter");
    let terms: Vec<&str> = c.risk_terms.iter().map(|t| &**t).collect();
    assert_eq!(terms, ["plumber", "drinking", "gas"]);
    assert!(c.risk > 0.9);
}

#[test]
fn classify_risk_medium_for_danger_with_harm_alone() {
    for t in [
        "gas leak on our street, firefighters here",
        "carbon monoxide in the flat",
        "there was an explosion at the substation",
        "my son got electrocuted by the charger",
        "two people injured",
    ] {
        let c = model().classify(t);
        assert_eq!(c.risk_level(), RiskLevel::Medium, "{t:?}: {c:?}");
        assert!((0.4..=0.5).contains(&c.risk));
    }
}

#[test]
fn classify_risk_low_for_reactions_and_complaints() {
    for t in [
        "this is terrifying, alcohol and a gas line??",
        "someone could die",
        "still waiting for the engineer",
        "technician was late",
        "the driver was rude",
        "the rep was rude and unprofessional",
        "my bill was high and the engineer never came",
        "great job, 3 hours on hold",
        "apple orchard picking with the kids",
    ] {
        let r = risk(t);
        assert!(r < RISK_WATCH, "{t:?}: {r}");
        assert!(r < RISK_MEDIUM, "{t:?}: {r}");
    }
    assert!(risk("the driver was rude") > 0.0);
    assert!(risk("this is terrifying, alcohol and a gas line??") > 0.0);
    assert_eq!(risk("still waiting for the engineer"), 0.0);
}

#[test]
fn classify_ties_go_to_first_category() {
    let c = Classification {
        scores: [0.0, 0.5, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0],
        ..Classification::default()
    };
    assert_eq!(c.top(), Some((Category::Safety, 0.5)));
    assert_eq!(Classification::default().top(), None);
}

#[test]
fn classify_is_deterministic() {
    let a = model();
    let b = KeywordClassifier::try_embedded().unwrap();
    for t in [
        "technician drinking before gas repair",
        "WIN a free phone click here",
    ] {
        assert_eq!(a.classify(t), b.classify(t));
    }
}

#[test]
fn classify_from_toml_reports_every_problem() {
    let bad = r#"
        version = ""
        [weights]
        strong = 1.0
        medium = -1.0
        weak = 0.3
        [negation]
        cues = ["not", "no way"]
        window = 2
        [category.conduct]
        strong = ["drunk", "Drunk"]
        [category.other]
        strong = ["meh"]
        [shadow]
        phrases = ["drunk"]
        [risk]
        staff = ["engineer"]
        hazard = ["drunk"]
        harm = ["!!!"]
        high_min = 0.3
        high_max = 0.95
        weak_strength = 0.2
        medium = 0.45
        medium_max = 0.5
        low_hazard = 0.25
        low_staff_conduct = 0.2
    "#;
    let Err(ClassifierError::Invalid(problems)) = KeywordClassifier::from_toml(bad) else {
        panic!("expected invalid");
    };
    let all = problems.join("\n");
    for needle in [
        "weights.medium",
        "no way",
        "listed twice",
        "category.other",
        "shadow",
        "has no words",
        "risk levels",
        "version",
    ] {
        assert!(all.contains(needle), "missing {needle}: {all}");
    }
}

#[test]
fn classify_from_toml_rejects_unknown_keys() {
    let err = KeywordClassifier::from_toml("version = \"1\"\nbogus = 1\n").unwrap_err();
    assert!(matches!(err, ClassifierError::Parse(_)));
    assert!(err.to_string().starts_with("category model is malformed"));
}

#[test]
fn classify_empty_model_scores_nothing() {
    let c = KeywordClassifier::empty().classify("drunk engineer gas leak");
    assert_eq!(c, Classification::default());
}

proptest::proptest! {
    #[test]
    fn classify_never_panics_and_stays_in_range(text in "\\PC{0,200}") {
        let c = model().classify(&text);
        proptest::prop_assert!(c.scores.iter().all(|s| s.is_finite() && *s >= 0.0 && *s < 1.0));
        proptest::prop_assert!((0.0..=1.0).contains(&c.risk));
        proptest::prop_assert!(c.risk > 0.0 || c.risk_terms.is_empty());
    }

    #[test]
    fn classify_handles_lexicon_words_in_any_order(
        words in proptest::collection::vec(
            proptest::sample::select(vec![
                "not", "drunk", "engineer", "gas", "leak", "on", "hold", "free", "click",
                "here", "no", "signal", "'", "#fire", "@x", "Straße", "3", "ÉCOLE's",
            ]),
            0..24,
        )
    ) {
        let c = model().classify(&words.join(" "));
        proptest::prop_assert!(c.scores.iter().all(|s| s.is_finite() && *s >= 0.0));
        proptest::prop_assert!((0.0..=1.0).contains(&c.risk));
    }
}
