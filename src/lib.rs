//! rustconv: Rayon-parallel convolution, padding and pooling kernels.
//!
//! The kernel core (`signal`, `fft`, `conv`, `pad`, `pool`, and the shared `element`,
//! `params`, `threads`, `buffer`, `simd`) knows nothing of Python; `py` is the
//! thin binding layer that the extension module `rustconv._rustconv` exposes.

#![warn(clippy::undocumented_unsafe_blocks)]

pub mod buffer;
pub mod conv;
pub mod element;
pub mod error;
pub mod fft;
pub mod pad;
pub mod params;
pub mod pool;
pub mod recycle;
pub mod signal;
pub mod simd;
pub mod threads;

pub mod py;

use pyo3::prelude::*;

/// The extension module. Its public face is the `rustconv` Python package.
#[pymodule(name = "_rustconv")]
fn rustconv_ext(m: &Bound<'_, PyModule>) -> PyResult<()> {
    py::register(m)
}
