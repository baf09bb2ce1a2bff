//! Padding kernels (pure Rust, no Python).
