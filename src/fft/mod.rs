//! FFT-based convolution kernels (pure Rust, no Python): the engine behind
//! `fftconvolve` and `oaconvolve`, usable from Rust by the other families.
//!
//! # Rust entry point
//!
//! ```ignore
//! pub fn fftconvolve<T: FftElement>(
//!     in1: ArrayViewD<'_, T>,
//!     in2: ArrayViewD<'_, T>,
//!     mode: Mode,
//!     axes: Option<&[i64]>,   // None = every axis; negative counts from the end
//!     blocking: Blocking,     // Auto (fftconvolve), Blocks (oaconvolve), Single
//! ) -> Result<ArrayD<T>>
//! ```
//!
//! `T` is `f32`, `f64`, `Complex<f32>` or `Complex<f64>`; the transforms run
//! in `T`'s precision. The result is scipy.signal.fftconvolve's (shape,
//! window, 'valid' swap, broadcasting along the other axes) as a C-order
//! array. It runs on the current Rayon pool (call it inside the binding's
//! `detach_run`). Validation errors are `Error::Value`, never panics.
//!
//! Layout: `geometry` owns the shape formulas, `element` the per-type row
//! transforms (realfft for real rows, rustfft otherwise), `engine` the block
//! planning and the N-d transforms.

mod element;
mod engine;
mod geometry;

pub use element::FftElement;
pub use engine::{Blocking, convolve, fast_len};
pub use geometry::{FftConvGeometry, normalize_axes};

use crate::error::Result;
use crate::params::Mode;
use ndarray::{ArrayD, ArrayViewD};

/// scipy.signal.fftconvolve (`Blocking::Auto`) / oaconvolve
/// (`Blocking::Blocks`) on ndarray views; see the module documentation.
pub fn fftconvolve<T: FftElement>(
    in1: ArrayViewD<'_, T>,
    in2: ArrayViewD<'_, T>,
    mode: Mode,
    axes: Option<&[i64]>,
    blocking: Blocking,
) -> Result<ArrayD<T>> {
    let geometry = FftConvGeometry::new(in1.shape(), in2.shape(), axes, mode)?;
    convolve(in1, in2, &geometry, blocking)
}

#[cfg(test)]
mod tests;
