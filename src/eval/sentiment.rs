//! Evaluation of the sentiment models: `flashpoint eval sentiment`.
//!
//! Role: score each model on the public test sets and print one comparable table.
//!
//! Inputs: the `sentiment` data folder (`semeval2017/SemEval2017-task4-test.subtask-A.english.txt`,
//! `tweeteval/test_text.txt` + `test_labels.txt`, `vader/tweets_GroundTruth.txt`); a set that
//! is absent is reported as missing, not guessed.
//!
//! Outputs: per model and set, macro-averaged recall (SemEval-2017 4A's metric), accuracy and
//! F1-PN (the mean of the positive and negative F1, as SemEval reports it); Pearson r between
//! the model's score and the mean human rating of VADER's 4,200 tweets; single-thread
//! throughput over all texts scored. Then the complaint model against its weak-label rules
//! (agreement, precision, recall, F1 at the default threshold; mean probability per gold
//! sentiment class) on the held-out 2016 dev split and the test sets, and against hand labels
//! (`models/complaint/gold/`, the held-out `eval` domain first, and the category lexicon's
//! complaint development sets), read relative to the working directory; a set that cannot be
//! read is reported on stderr and skipped.

use std::borrow::Cow;
use std::path::Path;
use std::time::Instant;

use crate::domain::SentimentLabel;
use crate::score::sentiment::complaint::{
    agreement, precision_recall_f1, rule_label, Agreement, ComplaintModel,
};
use crate::score::sentiment::train::{read_semeval_file, Labelled, TEST_FILE};
use crate::score::sentiment::SentimentModel;
use crate::score::sentiment::{blended_score_at, compound};

/// A labelled evaluation set.
#[derive(Debug)]
pub struct LabelledSet {
    pub name: Cow<'static, str>,
    pub items: Vec<Labelled>,
}

/// Texts with a continuous human rating.
#[derive(Debug)]
pub struct RatedSet {
    pub name: &'static str,
    pub items: Vec<(f64, String)>,
}

/// The evaluation data found under a `sentiment` folder.
#[derive(Debug)]
pub struct Data {
    pub labelled: Vec<LabelledSet>,
    pub rated: Option<RatedSet>,
    /// VADER's non-tweet rated sets ([`load_snippets`]; empty unless the caller adds them):
    /// extra Pearson columns, not timed.
    pub snippets: Vec<RatedSet>,
}

/// Loads what exists of the three sets.
pub fn load(dir: &Path) -> anyhow::Result<Data> {
    let mut labelled = Vec::new();
    if let Ok(items) = read_semeval_file(&dir.join("semeval2017").join(TEST_FILE)) {
        labelled.push(LabelledSet {
            name: "SemEval-2017 test".into(),
            items,
        });
    }
    let tdir = dir.join("tweeteval");
    if let (Ok(text), Ok(labels)) = (
        std::fs::read_to_string(tdir.join("test_text.txt")),
        std::fs::read_to_string(tdir.join("test_labels.txt")),
    ) {
        let items: Vec<Labelled> = text
            .lines()
            .zip(labels.lines())
            .filter_map(|(t, l)| {
                let label = l.trim().parse::<u8>().ok().filter(|l| *l < 3)?;
                Some(Labelled {
                    id: String::new(),
                    label,
                    text: t.trim_end().to_owned(),
                })
            })
            .collect();
        labelled.push(LabelledSet {
            name: "TweetEval test".into(),
            items,
        });
    }
    let rated = std::fs::read(dir.join("vader").join("tweets_GroundTruth.txt"))
        .ok()
        .map(|bytes| RatedSet {
            name: "VADER tweets (Pearson r)",
            items: rated_items(&String::from_utf8_lossy(&bytes)),
        });
    anyhow::ensure!(
        !labelled.is_empty() || rated.is_some(),
        "no sentiment evaluation data under {}",
        dir.display()
    );
    Ok(Data {
        labelled,
        rated,
        snippets: Vec::new(),
    })
}

/// The hand-labelled sentiment posts (`models/linear/gold/`, see its README).
pub const SENTIMENT_GOLD_DIR: &str = "models/linear/gold";

/// Adds the held-out hand-labelled domains of `dir` (`eval` and `eval_<name>`, never trained
/// on) to `data.labelled` as `hand-labelled <name> (held out)`; returns how many sets were
/// added. A missing or unreadable folder adds none and says why on stderr.
pub fn add_hand_sets(data: &mut Data, dir: &Path) -> usize {
    match crate::score::sentiment::train::read_gold(dir, false) {
        Ok(domains) => {
            let n = domains.len();
            data.labelled
                .extend(domains.into_iter().map(|d| LabelledSet {
                    name: format!("hand-labelled {} (held out)", d.name).into(),
                    items: d.items,
                }));
            n
        }
        Err(e) => {
            eprintln!("no hand-labelled sentiment sets in {}: {e}", dir.display());
            0
        }
    }
}

/// The labelled set of a CSV with `airline_sentiment` and `text` columns: Figure Eight's
/// "Twitter US Airline Sentiment" (`Tweets.csv`, 14,640 tweets to six US airlines, February
/// 2015; CC BY-NC-SA 4.0, so not bundled). Brand-directed complaints written to the brands
/// themselves: a domain no model here was trained or tuned on. Returns the set and how many
/// rows were skipped (malformed, or a label other than the three classes).
pub fn load_airline_csv(path: &Path) -> anyhow::Result<(LabelledSet, usize)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let headers = reader
        .headers()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == name)
            .ok_or_else(|| anyhow::anyhow!("{}: no `{name}` column", path.display()))
    };
    let (label_at, text_at) = (column("airline_sentiment")?, column("text")?);
    let (mut items, mut skipped) = (Vec::new(), 0usize);
    for record in reader.records() {
        let item = record.ok().and_then(|r| {
            let label = crate::score::sentiment::train::label_index(r.get(label_at)?)?;
            Some(Labelled {
                id: String::new(),
                label,
                text: r.get(text_at)?.to_owned(),
            })
        });
        match item {
            Some(item) => items.push(item),
            None => skipped += 1,
        }
    }
    anyhow::ensure!(!items.is_empty(), "{}: no labelled rows", path.display());
    Ok((
        LabelledSet {
            name: "US airline tweets (out of domain)".into(),
            items,
        },
        skipped,
    ))
}

/// `id TAB mean-rating TAB text` lines (VADER's ground-truth format); other lines skipped.
fn rated_items(text: &str) -> Vec<(f64, String)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, '\t');
            let _id = f.next()?;
            let r = f.next()?.trim().parse::<f64>().ok()?;
            Some((r, f.next()?.to_owned()))
        })
        .collect()
}

/// VADER's non-tweet rated sets in `data/vader-snippets/` (gzip): name and file.
pub const SNIPPET_SETS: [(&str, &str); 3] = [
    ("Amazon reviews", "amazonReviewSnippets_GroundTruth.txt.gz"),
    ("movie reviews", "movieReviewSnippets_GroundTruth.txt.gz"),
    ("NYT editorials", "nytEditorialSnippets_GroundTruth.txt.gz"),
];

/// Loads the three [`SNIPPET_SETS`] from `dir`; all or an error naming the missing file.
pub fn load_snippets(dir: &Path) -> anyhow::Result<Vec<RatedSet>> {
    use std::io::Read;
    SNIPPET_SETS
        .iter()
        .map(|&(name, file)| {
            let path = dir.join(file);
            let mut text = Vec::new();
            std::fs::File::open(&path)
                .map(|f| flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f)))
                .and_then(|mut gz| gz.read_to_end(&mut text))
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let items = rated_items(&String::from_utf8_lossy(&text));
            anyhow::ensure!(!items.is_empty(), "{}: no rated lines", path.display());
            Ok(RatedSet { name, items })
        })
        .collect()
}

/// One rated set as a classifier sees it: (class probabilities, VADER compound) of each text
/// and its human rating.
#[derive(Debug, Clone, Default)]
pub struct BlendSet {
    pub readings: Vec<([f32; 3], f32)>,
    pub human: Vec<f64>,
}

/// A model's batched class probabilities, `None` for a text it failed on.
pub type ProbabilitiesFn<'a> = dyn Fn(&[&str]) -> Vec<Option<[f32; 3]>> + 'a;

/// [`BlendSet`]s of `sets` from a model's batched class probabilities (`probs` gets every
/// text of a set at once; a text it answers `None` for is left out).
pub fn blend_sets(sets: &[RatedSet], probs: &ProbabilitiesFn<'_>) -> Vec<BlendSet> {
    sets.iter()
        .map(|set| {
            let texts: Vec<&str> = set.items.iter().map(|(_, t)| t.as_str()).collect();
            let mut out = BlendSet::default();
            for (p, (h, t)) in probs(&texts).into_iter().zip(&set.items) {
                if let Some(p) = p {
                    out.readings.push((p, compound(t)));
                    out.human.push(*h);
                }
            }
            out
        })
        .collect()
}

/// Mean Pearson r over `sets` of the score blend at each weight 0, 0.1, …, 1 of
/// `P(pos) − P(neg)` (the rest VADER's compound), and the best weight (ties go to the larger
/// weight, i.e. to the model over the lexicon): the rule that chose
/// [`crate::score::sentiment::linear::SCORE_BLEND`] and
/// [`crate::score::sentiment::TRANSFORMER_SCORE_BLEND`].
pub fn choose_score_blend(sets: &[BlendSet]) -> (f32, Vec<(f32, f64)>) {
    let grid: Vec<(f32, f64)> = (0..=10u8)
        .map(|k| {
            let alpha = f32::from(k) / 10.0;
            let mean = sets
                .iter()
                .map(|set| {
                    let s: Vec<f64> = set
                        .readings
                        .iter()
                        .map(|&(p, c)| f64::from(blended_score_at(alpha, p, c)))
                        .collect();
                    pearson(&s, &set.human)
                })
                .sum::<f64>()
                / sets.len().max(1) as f64;
            (alpha, mean)
        })
        .collect();
    let best = grid
        .iter()
        .fold((0.0f32, f64::NEG_INFINITY), |b, &(a, r)| {
            if r >= b.1 {
                (a, r)
            } else {
                b
            }
        })
        .0;
    (best, grid)
}

/// The [`choose_score_blend`] grid as one printable line.
pub fn blend_line(model: &str, best: f32, grid: &[(f32, f64)], shipped: f32) -> String {
    let grid: Vec<String> = grid
        .iter()
        .map(|(a, r)| format!("{a:.1}: {r:.4}"))
        .collect();
    format!(
        "{model} score blend, mean Pearson r on the snippet dev sets by weight of P(pos) - P(neg): \
         {}; best {best:.1}, shipped {shipped:.1}",
        grid.join(", ")
    )
}

/// Classification metrics of one model on one set.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scores {
    pub n: usize,
    pub macro_recall: f64,
    pub accuracy: f64,
    pub f1_pn: f64,
}

fn label_index(l: SentimentLabel) -> usize {
    match l {
        SentimentLabel::Negative => 0,
        SentimentLabel::Neutral => 1,
        SentimentLabel::Positive => 2,
    }
}

/// Scores predictions against gold labels (0 neg, 1 neu, 2 pos).
pub fn scores(gold: &[u8], pred: &[usize]) -> Scores {
    let mut m = [[0usize; 3]; 3];
    for (&g, &p) in gold.iter().zip(pred) {
        m[g as usize][p] += 1;
    }
    let recall = |c: usize| m[c][c] as f64 / (m[c].iter().sum::<usize>()).max(1) as f64;
    let precision =
        |c: usize| m[c][c] as f64 / (0..3).map(|g| m[g][c]).sum::<usize>().max(1) as f64;
    let f1 = |c: usize| {
        let (p, r) = (precision(c), recall(c));
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        }
    };
    let n = gold.len();
    Scores {
        n,
        macro_recall: (recall(0) + recall(1) + recall(2)) / 3.0,
        accuracy: (0..3).map(|c| m[c][c]).sum::<usize>() as f64 / n.max(1) as f64,
        f1_pn: (f1(0) + f1(2)) / 2.0,
    }
}

/// Pearson correlation; 0 when undefined.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len()) as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

/// One model's results.
#[derive(Debug)]
pub struct ModelReport {
    pub model: String,
    pub sets: Vec<(Cow<'static, str>, Scores)>,
    pub pearson: Option<f64>,
    /// Pearson r on each of [`Data::snippets`].
    pub snippet_pearson: Vec<(&'static str, f64)>,
    pub texts_per_sec: f64,
}

/// Texts per `score_batch` call: batched models (the transformer) are scored the way the
/// pipeline's incident refinement calls them; per-text models loop either way.
const EVAL_BATCH: usize = 64;

fn score_in_batches(model: &dyn SentimentModel, texts: &[&str]) -> Vec<crate::domain::Sentiment> {
    let mut out = Vec::with_capacity(texts.len());
    let mut chunk = Vec::with_capacity(EVAL_BATCH);
    for batch in texts.chunks(EVAL_BATCH) {
        model.score_batch(batch, &mut chunk);
        out.append(&mut chunk);
    }
    out
}

/// Evaluates one model on `data`.
pub fn evaluate(model: &dyn SentimentModel, data: &Data) -> ModelReport {
    let rated_r = |r: &RatedSet| {
        let texts: Vec<&str> = r.items.iter().map(|(_, t)| t.as_str()).collect();
        let s: Vec<f64> = score_in_batches(model, &texts)
            .iter()
            .map(|s| f64::from(s.score))
            .collect();
        let h: Vec<f64> = r.items.iter().map(|(h, _)| *h).collect();
        pearson(&s, &h)
    };
    let mut sets = Vec::new();
    let mut scored = 0usize;
    let mut elapsed = 0f64;
    for set in &data.labelled {
        let texts: Vec<&str> = set.items.iter().map(|t| t.text.as_str()).collect();
        let start = Instant::now();
        let pred: Vec<usize> = score_in_batches(model, &texts)
            .iter()
            .map(|s| label_index(s.label))
            .collect();
        elapsed += start.elapsed().as_secs_f64();
        scored += pred.len();
        let gold: Vec<u8> = set.items.iter().map(|t| t.label).collect();
        sets.push((set.name.clone(), scores(&gold, &pred)));
    }
    let pearson = data.rated.as_ref().map(|r| {
        let start = Instant::now();
        let p = rated_r(r);
        elapsed += start.elapsed().as_secs_f64();
        scored += r.items.len();
        p
    });
    let snippet_pearson = data.snippets.iter().map(|r| (r.name, rated_r(r))).collect();
    ModelReport {
        model: model.name().to_owned(),
        sets,
        pearson,
        snippet_pearson,
        texts_per_sec: scored as f64 / elapsed.max(1e-9),
    }
}

/// The complaint model against its weak labels on one set.
#[derive(Debug)]
pub struct ComplaintRow {
    pub set: Cow<'static, str>,
    pub agreement: Agreement,
    /// Mean `P(complaint)` per gold class (negative, neutral, positive).
    pub mean_by_class: [f64; 3],
}

/// The complaint model ([`ComplaintModel::embedded`]) on the held-out SemEval dev split
/// (`dev`: 2016 dev + devtest, not trained on while choosing its settings) and on the
/// labelled test sets, scored against the weak-label rules at the default threshold.
pub fn complaint_rows(dev: &[Labelled], data: &Data) -> Vec<ComplaintRow> {
    let Ok(model) = ComplaintModel::embedded() else {
        return Vec::new();
    };
    let row = |set: Cow<'static, str>, items: &[Labelled]| {
        let p: Vec<f32> = items.iter().map(|t| model.probability(&t.text)).collect();
        let pred: Vec<bool> = p
            .iter()
            .map(|&p| f64::from(p) >= crate::config::DEFAULT_COMPLAINT_THRESHOLD)
            .collect();
        let rule: Vec<bool> = items.iter().map(|t| rule_label(&t.text, t.label)).collect();
        let mut sum = [0f64; 3];
        let mut n = [0usize; 3];
        for (t, p) in items.iter().zip(&p) {
            let c = usize::from(t.label.min(2));
            sum[c] += f64::from(*p);
            n[c] += 1;
        }
        ComplaintRow {
            set,
            agreement: agreement(&pred, &rule),
            mean_by_class: std::array::from_fn(|c| sum[c] / n[c].max(1) as f64),
        }
    };
    let mut rows = vec![row(
        "SemEval 2016 dev+devtest (in final training)".into(),
        dev,
    )];
    rows.extend(data.labelled.iter().map(|s| row(s.name.clone(), &s.items)));
    rows
}

/// The Markdown table of the complaint rows.
pub fn complaint_table(rows: &[ComplaintRow]) -> String {
    let mut out = String::from(
        "\n| complaint model vs weak rules | n | rule rate | agreement | precision | recall | F1 \
         | mean P (neg / neu / pos gold) |\n|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let a = r.agreement;
        out.push_str(&format!(
            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} / {:.3} / {:.3} |\n",
            r.set,
            a.n,
            a.rule_rate,
            a.accuracy,
            a.precision,
            a.recall,
            a.f1,
            r.mean_by_class[0],
            r.mean_by_class[1],
            r.mean_by_class[2]
        ));
    }
    out
}

/// The complaint model on one set of hand-labelled posts.
#[derive(Debug)]
pub struct HandRow {
    pub set: String,
    pub complaints: usize,
    pub others: usize,
    /// Of the complaints, how many the model calls complaints (`P >= threshold`).
    pub recalled: usize,
    /// Of the other posts, how many it calls complaints.
    pub false_alarms: usize,
}

/// Where the hand-labelled posts live, relative to the repository root: the complaint
/// model's own sets and the category lexicon's development sets.
pub const COMPLAINT_GOLD_DIR: &str = "models/complaint/gold";
pub const CATEGORY_DEV_DIR: &str = "models/categories/dev";

/// The complaint model ([`ComplaintModel::embedded`]) against hand labels: the held-out
/// `eval` domain and the category lexicon's complaint sets (never trained on), then each
/// training domain (trained on, for reference). Sets that cannot be read are skipped.
pub fn complaint_hand_rows(gold: &Path, category_dev: &Path) -> Vec<HandRow> {
    use crate::score::sentiment::complaint::read_gold;
    use crate::score::sentiment::gold::read_posts;
    let Ok(model) = ComplaintModel::embedded() else {
        return Vec::new();
    };
    let calls =
        |t: &str| f64::from(model.probability(t)) >= crate::config::DEFAULT_COMPLAINT_THRESHOLD;
    // (post, is a complaint) pairs tallied into one row.
    let row = |set: String, posts: &mut dyn Iterator<Item = (&str, bool)>| {
        let mut r = HandRow {
            set,
            complaints: 0,
            others: 0,
            recalled: 0,
            false_alarms: 0,
        };
        for (t, complaint) in posts {
            let called = usize::from(calls(t));
            if complaint {
                r.complaints += 1;
                r.recalled += called;
            } else {
                r.others += 1;
                r.false_alarms += called;
            }
        }
        r
    };
    let read = |training: bool| {
        read_gold(gold, training).unwrap_or_else(|e| {
            eprintln!("hand labels in {}: {e}", gold.display());
            Vec::new()
        })
    };
    let mut rows = Vec::new();
    for d in read(false) {
        rows.push(row(
            format!("hand `{}` (held out)", d.name),
            &mut d.items.iter().map(|(t, l)| (t.as_str(), *l)),
        ));
    }
    for (name, c, o) in [
        (
            "categories blind (held out)",
            "blind_complaints.txt",
            "blind_chatter.txt",
        ),
        (
            "categories tune (lexicon tuned on it)",
            "tune_complaints.txt",
            "tune_chatter.txt",
        ),
    ] {
        match (
            read_posts(&category_dev.join(c)),
            read_posts(&category_dev.join(o)),
        ) {
            (Ok(yes), Ok(no)) => {
                let yes = yes.iter().map(|t| (t.as_str(), true));
                let no = no.iter().map(|t| (t.as_str(), false));
                rows.push(row(name.to_owned(), &mut yes.chain(no)));
            }
            (Err(e), _) | (_, Err(e)) => eprintln!("{name} in {}: {e}", category_dev.display()),
        }
    }
    for d in read(true) {
        rows.push(row(
            format!("hand `{}` (in training)", d.name),
            &mut d.items.iter().map(|(t, l)| (t.as_str(), *l)),
        ));
    }
    rows
}

/// The Markdown table of the hand-label rows.
pub fn hand_table(rows: &[HandRow]) -> String {
    let mut out = String::from(
        "\n| complaint model vs hand labels | complaints recognised | other posts called complaints \
         | precision | F1 |\n|---|---|---|---|---|\n",
    );
    for r in rows {
        let (precision, recall, f1) = precision_recall_f1(
            r.recalled as f64,
            r.false_alarms as f64,
            (r.complaints - r.recalled) as f64,
        );
        out.push_str(&format!(
            "| {} | {} / {} ({:.0} %) | {} / {} | {precision:.3} | {f1:.3} |\n",
            r.set,
            r.recalled,
            r.complaints,
            100.0 * recall,
            r.false_alarms,
            r.others
        ));
    }
    out
}

/// The Markdown table of several reports.
pub fn table(reports: &[ModelReport]) -> String {
    let mut out = String::from(
        "| model | set | n | macro-recall | accuracy | F1-PN |\n|---|---|---|---|---|---|\n",
    );
    for r in reports {
        for (name, s) in &r.sets {
            out.push_str(&format!(
                "| {} | {name} | {} | {:.3} | {:.3} | {:.3} |\n",
                r.model, s.n, s.macro_recall, s.accuracy, s.f1_pn
            ));
        }
    }
    // Snippet columns (dev sets of linear's score blend) when the first report has them.
    let extra: Vec<&str> = reports
        .first()
        .map(|r| r.snippet_pearson.iter().map(|(n, _)| *n).collect())
        .unwrap_or_default();
    out.push_str(
        "\n| model | Pearson r (VADER 4,200 tweets) | texts/s (all sets, `score_batch`) |",
    );
    for name in &extra {
        out.push_str(&format!(" r {name} (dev) |"));
    }
    out.push_str(&format!("\n|---|---|---|{}\n", "---|".repeat(extra.len())));
    for r in reports {
        let p = r
            .pearson
            .map_or_else(|| String::from("n/a"), |p| format!("{p:.3}"));
        out.push_str(&format!("| {} | {p} | {:.0} |", r.model, r.texts_per_sec));
        for (_, p) in &r.snippet_pearson {
            out.push_str(&format!(" {p:.3} |"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn airline_csv_reads_quoted_texts_by_column_name_and_counts_what_it_skips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Tweets.csv");
        std::fs::write(
            &path,
            "tweet_id,airline_sentiment,airline,text\n\
             1,negative,United,\"@united 3 hours on hold, \"\"priceless\"\"\nthanks\"\n\
             2,positive,Delta,@JetBlue crew was lovely\n\
             3,unsure,Delta,@united what\n\
             4,neutral\n",
        )
        .unwrap();
        let (set, skipped) = load_airline_csv(&path).unwrap();
        let got: Vec<(u8, &str)> = set
            .items
            .iter()
            .map(|i| (i.label, i.text.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (0, "@united 3 hours on hold, \"priceless\"\nthanks"),
                (2, "@JetBlue crew was lovely"),
            ]
        );
        assert_eq!(skipped, 2, "an unknown label and a row without its text");

        std::fs::write(&path, "id,sentiment,text\n1,negative,x\n").unwrap();
        let e = load_airline_csv(&path).unwrap_err().to_string();
        assert!(e.contains("no `airline_sentiment` column"), "{e}");
    }

    #[test]
    fn metrics_match_hand_computation() {
        // gold: neg neg neu pos; pred: neg neu neu neg
        let s = scores(&[0, 0, 1, 2], &[0, 1, 1, 0]);
        assert!((s.accuracy - 0.5).abs() < 1e-12);
        // recalls: neg 1/2, neu 1, pos 0 -> 0.5
        assert!((s.macro_recall - 0.5).abs() < 1e-12);
        // F1 neg: p 1/2, r 1/2 -> 0.5; F1 pos 0 -> 0.25
        assert!((s.f1_pn - 0.25).abs() < 1e-12);
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.5]) - 0.9986).abs() < 1e-3);
    }
}
