//! The pool family's kernels (pure Rust, no Python).
