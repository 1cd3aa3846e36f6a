//! A small trained model (10 trees) shared by the tests, trained once per test binary.

use std::sync::OnceLock;

use iris_model::Dataset;
use iris_model::train::{TrainOptions, Trained, train};

pub fn trained() -> &'static Trained {
    static TRAINED: OnceLock<Trained> = OnceLock::new();
    TRAINED.get_or_init(|| {
        let data = Dataset::builtin().expect("built-in data set");
        let options = TrainOptions {
            trees: 10,
            ..TrainOptions::default()
        };
        train(&data, &options).expect("training")
    })
}

pub fn manifest_json() -> Vec<u8> {
    serde_json::to_vec(&trained().manifest).expect("manifest serializes")
}
