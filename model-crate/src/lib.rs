//! The Iris model: data set, training, evaluation, artifact and prediction.
