"""Tooling around the product, never imported by it: evaluation (`python -m benchmarks.eval`), the baselines it
compares against, the performance bench (`python -m benchmarks.bench`), the answer model's training script
(`python -m benchmarks.train_answer_model`) and a `chroma run` helper for the bench and the tests."""
