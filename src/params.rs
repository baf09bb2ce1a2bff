//! Shared parameter types. Each family's validated parameter structs live
//! beside its kernels (`signal`, `conv`, `pool`); this file holds what several
//! families share.

use crate::error::{Error, Result};

/// scipy.signal's output modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every position where the inputs overlap at all: n + k − 1.
    Full,
    /// The size of the first input, centred on the full output.
    Same,
    /// Only positions where the kernel lies wholly inside: n − k + 1.
    Valid,
}

impl Mode {
    /// Parses scipy's mode names.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "full" => Ok(Mode::Full),
            "same" => Ok(Mode::Same),
            "valid" => Ok(Mode::Valid),
            other => Err(Error::value(format!(
                "mode must be 'full', 'valid' or 'same', got {other:?}"
            ))),
        }
    }
}
