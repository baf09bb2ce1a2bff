//! The signal family's kernels (pure Rust, no Python).
