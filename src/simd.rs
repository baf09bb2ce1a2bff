//! Runtime CPU feature detection, done once.
//!
//! Kernels with hand-vectorised paths ask [`level`] which path may run; the
//! scalar path is always there as the reference and the fallback.

use std::sync::OnceLock;

/// The widest instruction set the hot kernels may use on this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Portable code only.
    Scalar,
    /// AVX2 with FMA (x86-64-v3).
    Avx2Fma,
    /// AVX-512 F (x86-64-v4).
    Avx512,
}

impl Level {
    /// The name `show_config()` prints.
    pub fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Avx2Fma => "avx2+fma",
            Level::Avx512 => "avx512f",
        }
    }
}

fn detect() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        if std::env::var_os("RUSTCONV_NO_SIMD").is_some() {
            return Level::Scalar;
        }
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma") {
            return Level::Avx512;
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Level::Avx2Fma;
        }
    }
    Level::Scalar
}

/// The detected level (cached after the first call). Setting the environment
/// variable `RUSTCONV_NO_SIMD` before the first call forces the scalar paths.
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(detect)
}
