//! The entry points of `flashpoint eval sentiment`, `flashpoint eval scenarios` and `flashpoint nab`:
//! run an evaluation and print its tables (Markdown on stdout, notes on stderr).

/// `flashpoint nab`: runs the volume detector over NAB's realTweets series and prints the
/// score table.
pub fn nab(data: &std::path::Path, out: &std::path::Path) -> anyhow::Result<()> {
    let report = crate::eval::nab::run(data, out)?;
    print!("{}", report.table());
    Ok(())
}

/// `flashpoint eval sentiment`: scores `models` on the data sets under `data` (and the airline
/// CSV at `airline`, when given) and prints the tables.
pub fn sentiment(
    data: &std::path::Path,
    models: &[String],
    snippets: &std::path::Path,
    airline: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let data_dir = data;
    let mut data = crate::eval::sentiment::load(data)?;
    if let Some(path) = airline {
        let (set, skipped) = crate::eval::sentiment::load_airline_csv(path)?;
        if skipped > 0 {
            eprintln!(
                "{}: {skipped} rows skipped (malformed or unlabelled)",
                path.display()
            );
        }
        data.labelled.push(set);
    }
    match crate::eval::sentiment::load_snippets(snippets) {
        Ok(sets) => data.snippets = sets,
        Err(e) => eprintln!("no snippet dev sets ({e}): Pearson on VADER's tweets only"),
    }
    crate::eval::sentiment::add_hand_sets(
        &mut data,
        std::path::Path::new(crate::eval::sentiment::SENTIMENT_GOLD_DIR),
    );
    let mut reports = Vec::new();
    for name in models {
        let model = crate::score::sentiment::model_by_name(name)?;
        // Warm up (lazy lexicon and weights parsing) outside the timed loop.
        model.score("warm up");
        reports.push(crate::eval::sentiment::evaluate(model.as_ref(), &data));
    }
    print!("{}", crate::eval::sentiment::table(&reports));
    if !data.snippets.is_empty() {
        print_score_blends(models, &data.snippets);
    }
    if let Ok(corpus) = crate::score::sentiment::train::load_corpus(&data_dir.join("semeval2017")) {
        let rows = crate::eval::sentiment::complaint_rows(&corpus.dev, &data);
        print!("{}", crate::eval::sentiment::complaint_table(&rows));
    }
    let hand = crate::eval::sentiment::complaint_hand_rows(
        std::path::Path::new(crate::eval::sentiment::COMPLAINT_GOLD_DIR),
        std::path::Path::new(crate::eval::sentiment::CATEGORY_DEV_DIR),
    );
    if !hand.is_empty() {
        print!("{}", crate::eval::sentiment::hand_table(&hand));
    }
    Ok(())
}

/// The score-blend grid of each evaluated classifier whose probabilities the eval can reach
/// (`linear`, and `onnx` in builds with the feature) on the snippet dev sets.
fn print_score_blends(models: &[String], snippets: &[crate::eval::sentiment::RatedSet]) {
    use crate::eval::sentiment::{blend_line, blend_sets, choose_score_blend};
    if models.iter().any(|m| m == "linear") {
        if let Ok(model) = crate::score::sentiment::LinearModel::embedded() {
            let sets = blend_sets(snippets, &|texts| {
                texts.iter().map(|t| Some(model.probabilities(t))).collect()
            });
            let (best, grid) = choose_score_blend(&sets);
            let shipped = crate::score::sentiment::linear::SCORE_BLEND;
            println!("\n{}", blend_line("linear", best, &grid, shipped));
        }
    }
    #[cfg(feature = "onnx")]
    if models.iter().any(|m| m == "onnx") {
        if let Ok(model) = crate::score::sentiment::onnx::OnnxModel::load_default() {
            let sets = blend_sets(snippets, &|texts| model.probabilities_batch(texts));
            let (best, grid) = choose_score_blend(&sets);
            let shipped = crate::score::sentiment::TRANSFORMER_SCORE_BLEND;
            println!("\n{}", blend_line("onnx", best, &grid, shipped));
        }
    }
}

/// `flashpoint eval scenarios`: runs every scenario file in `dir` with `profile`; returns the
/// exit code (1 when a scenario fails, 2 on bad input).
pub fn scenarios(dir: &std::path::Path, profile: &str) -> u8 {
    use crate::eval::scenarios;
    let Some(profile) = crate::config::Profile::parse(profile) else {
        eprintln!("error: unknown profile {profile:?} (fewer, balanced, more)");
        return 2;
    };
    let files = match scenarios::load_dir(dir) {
        Ok(f) if !f.is_empty() => f,
        Ok(_) => {
            eprintln!("error: no scenario files in {}", dir.display());
            return 2;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut outcomes = Vec::new();
    for f in &files {
        match scenarios::run_with(f, profile) {
            Ok(o) => outcomes.push(o),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    print!("{}", scenarios::table(&outcomes));
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    if failed > 0 {
        eprintln!("{failed} of {} scenarios failed", outcomes.len());
        1
    } else {
        eprintln!("all {} scenarios passed", outcomes.len());
        0
    }
}
