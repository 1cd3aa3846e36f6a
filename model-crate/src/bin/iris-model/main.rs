//! The `iris-model` command line: parses arguments, calls the `iris_model` library, maps
//! outcomes to exit codes. No model logic lives here.
//!
//! Exit codes: 0 success, 1 error, 2 usage error (clap), 3 the accuracy gate failed.

mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand};
use iris_model::train::{DEFAULT_MIN_ACCURACY, DEFAULT_SEED, DEFAULT_TEST_FRACTION, DEFAULT_TREES};

#[derive(Parser)]
#[command(
    name = "iris-model",
    version,
    about = "Train, evaluate and query the Iris Random Forest"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train on a stratified split, evaluate on the held-out rows, and write
    /// model.bin, manifest.json and report.html into --out (only if the gate passes).
    Train(TrainArgs),
    /// Evaluate an artifact: on its own held-out split when the data is the data it was
    /// trained on, otherwise on every row of --data.
    Evaluate(EvaluateArgs),
    /// Predict the species of one flower (sepal length, sepal width, petal length,
    /// petal width, in cm).
    Predict(PredictArgs),
    /// Write the train/test split `train` would use as train.csv and test.csv (for
    /// comparisons with other tools on exactly the same rows).
    ExportSplit(ExportSplitArgs),
}

#[derive(Args)]
struct DataArgs {
    /// A CSV with header sepal_length,sepal_width,petal_length,petal_width,species (cm);
    /// default: the built-in Iris data set.
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
}

#[derive(Args)]
struct SplitArgs {
    /// Seed for the split, the bootstrap samples and the feature sampling.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Share of each class held out for evaluation (0 < F < 1).
    #[arg(long, value_name = "F", default_value_t = DEFAULT_TEST_FRACTION)]
    test_fraction: f64,
}

#[derive(Args)]
struct TrainArgs {
    /// Artifact directory (created if missing; existing artifact files are replaced).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    split: SplitArgs,
    /// Number of trees.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TREES,
          value_parser = clap::value_parser!(u32).range(1..=10_000).map(|v| v as usize))]
    trees: usize,
    /// Maximum tree depth (default: grow until the leaves are pure).
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=64).map(|v| v as usize))]
    max_depth: Option<usize>,
    /// Fail (exit 3, nothing written) when held-out accuracy is below A.
    #[arg(long, value_name = "A", default_value_t = DEFAULT_MIN_ACCURACY)]
    min_accuracy: f64,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args)]
struct EvaluateArgs {
    /// Artifact directory written by `train`.
    #[arg(long, value_name = "DIR")]
    model: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// Fail (exit 3) when accuracy is below A.
    #[arg(long, value_name = "A")]
    min_accuracy: Option<f64>,
}

#[derive(Args)]
struct PredictArgs {
    /// Artifact directory written by `train`.
    #[arg(long, value_name = "DIR")]
    model: PathBuf,
    /// Print the prediction as one JSON object.
    #[arg(long)]
    json: bool,
    /// sepal_length sepal_width petal_length petal_width (cm).
    #[arg(
        num_args = 4,
        required = true,
        allow_negative_numbers = true,
        value_name = "CM"
    )]
    values: Vec<f64>,
}

#[derive(Args)]
struct ExportSplitArgs {
    /// Directory for train.csv and test.csv.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    split: SplitArgs,
    #[command(flatten)]
    data: DataArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Train(a) => commands::train(commands::TrainRequest {
            out: a.out,
            data: a.data.data,
            options: iris_model::train::TrainOptions {
                seed: a.split.seed,
                trees: a.trees,
                max_depth: a.max_depth,
                test_fraction: a.split.test_fraction,
                min_accuracy: a.min_accuracy,
            },
        }),
        Command::Evaluate(a) => commands::evaluate(&a.model, a.data.data.as_ref(), a.min_accuracy),
        Command::Predict(a) => commands::predict(&a.model, &a.values, a.json),
        Command::ExportSplit(a) => commands::export_split(
            &a.out,
            a.data.data.as_ref(),
            a.split.seed,
            a.split.test_fraction,
        ),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.downcast_ref::<commands::GateFailed>().is_some() {
                ExitCode::from(commands::GATE_FAILED)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
