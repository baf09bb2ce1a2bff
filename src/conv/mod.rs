//! The conv family's kernels (pure Rust, no Python).
