//! Criterion benchmarks: training, single prediction, batch prediction, model loading.
//! Run: `cargo bench -p iris-model --bench forest`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use iris_model::dataset::Dataset;
use iris_model::features::Features;
use iris_model::model::Model;
use iris_model::train::{TrainOptions, train};

fn trained() -> (Dataset, Model, Vec<u8>) {
    let data = Dataset::builtin().expect("built-in data");
    let t = train(&data, &TrainOptions::default()).expect("training");
    (data, t.model, t.bytes)
}

/// `n` rows resampled (deterministically) from the data set.
fn resampled(data: &Dataset, n: usize) -> Vec<[f64; 4]> {
    (0..n)
        .map(|i| data.rows[(i * 7919) % data.rows.len()])
        .collect()
}

fn benches(c: &mut Criterion) {
    let (data, model, bytes) = trained();

    c.bench_function("train 100 trees (120 rows)", |b| {
        b.iter(|| train(black_box(&data), &TrainOptions::default()))
    });

    c.bench_function("load model.bin (verify sha256 + decode)", |b| {
        b.iter(|| Model::from_bytes(black_box(&bytes), model.sha256()))
    });

    let one = Features::new([6.0, 2.9, 4.8, 1.7]).expect("valid");
    c.bench_function("predict one flower", |b| {
        b.iter(|| model.predict(black_box(&one)))
    });

    let mut group = c.benchmark_group("batch");
    for n in [1_000usize, 100_000] {
        let rows = resampled(&data, n);
        let mut out = vec![0.0; n * model.classes().len()];
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("predict_proba_into {n} rows"), |b| {
            b.iter(|| model.predict_proba_into(black_box(&rows), &mut out))
        });
        let features: Vec<Features> = rows
            .iter()
            .map(|r| Features::new(*r).expect("valid"))
            .collect();
        group.bench_function(
            format!("predict_batch {n} rows (Prediction structs)"),
            |b| {
                b.iter_batched(
                    || (),
                    |()| model.predict_batch(black_box(&features)),
                    BatchSize::LargeInput,
                )
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = forest;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(forest);
