//! The signal family's kernels (pure Rust, no Python).
//!
//! Every scipy.signal function here is one correlation
//! `out[i] = Σ_j ext(input)[i − offset + j] · taps[j]`, where `ext` extends
//! the input beyond its ends by a boundary rule and `taps` is the kernel,
//! reversed for a convolution ([`taps`] is the one place that reverses it).
//! [`params::CorrelateParams`] owns the output shapes and offsets of every
//! mode; [`plane::correlate_plane`] is the tiled 1-D/2-D engine with the
//! boundary rules and SIMD row kernels; [`direct::correlate_planes`] sums
//! plane correlations for three and more dimensions; and
//! [`direct::correlate_nd`] is the generic N-d loop, the reference.

pub mod direct;
pub mod params;
pub mod plane;
pub mod rows;

use crate::element::Element;
use ndarray::ArrayViewD;

/// The kernel as a C-ordered vector of taps, reversed along every axis when
/// `flip` is set (convolution is correlation with the reversed kernel; this is
/// the only place that reverses it).
pub fn taps<T: Element>(kernel: &ArrayViewD<'_, T>, flip: bool) -> Vec<T> {
    let mut v: Vec<T> = kernel.iter().copied().collect();
    if flip {
        // Reversing the C-ordered list reverses every axis at once.
        v.reverse();
    }
    v
}
