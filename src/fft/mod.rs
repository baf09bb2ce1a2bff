//! FFT-based convolution kernels (pure Rust, no Python).
