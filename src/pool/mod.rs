//! The pool family's kernels (pure Rust, no Python): max, average and Lp
//! pooling over fixed windows, adaptive pooling, and their gradients.
//!
//! `params` validates the geometry and owns every shape formula; `window`
//! and `adaptive` are the fast kernels; `reference` is the naive path they
//! are tested against.

pub mod adaptive;
pub mod params;
pub mod reference;
pub mod window;

pub use adaptive::{adaptive_avg_pool, adaptive_avg_pool_backward, adaptive_max_pool};
pub use params::{AdaptiveGeometry, PlaneShape, PoolGeometry, pooled_len};
pub use window::{
    avg_pool, avg_pool_backward, first_out_of_range, lp_pool, lp_pool_backward, max_pool,
    max_pool_backward,
};

use crate::element::{Element, Real};
use crate::error::{Error, Result};

/// The exponent of Lp pooling, with the common norms special-cased so that
/// they cost a multiply (p = 2) or nothing (p = 1) instead of a `powf`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LpNorm<T> {
    /// p = 1: the sum of magnitudes.
    One,
    /// p = 2: the Euclidean norm.
    Two,
    /// Any other finite p > 0.
    Other(T),
}

impl<T: Real> LpNorm<T> {
    /// Validates `norm_type` (finite and positive).
    pub fn new(norm_type: f64) -> Result<Self> {
        if !(norm_type.is_finite() && norm_type > 0.0) {
            return Err(Error::value(format!(
                "norm_type must be a finite number greater than 0, got {norm_type}"
            )));
        }
        Ok(if norm_type == 1.0 {
            LpNorm::One
        } else if norm_type == 2.0 {
            LpNorm::Two
        } else {
            LpNorm::Other(T::from_f64(norm_type).unwrap_or_else(T::one))
        })
    }

    /// `|x|^p`.
    #[inline(always)]
    pub fn power(self, x: T) -> T {
        match self {
            LpNorm::One => x.abs(),
            LpNorm::Two => x * x,
            LpNorm::Other(p) => x.abs().powf(p),
        }
    }

    /// `s^(1/p)`.
    #[inline(always)]
    pub fn root(self, s: T) -> T {
        match self {
            LpNorm::One => s,
            LpNorm::Two => s.sqrt(),
            LpNorm::Other(p) => s.powf(p.recip()),
        }
    }

    /// `x·|x|^(p−2)` (= `sign(x)·|x|^(p−1)`), taken as 0 at `x = 0` where it is
    /// a kink (p = 1) or unbounded (p < 1).
    #[inline(always)]
    pub fn derivative(self, x: T) -> T {
        if x == <T as Element>::zero() {
            return <T as Element>::zero();
        }
        match self {
            LpNorm::One => x.signum(),
            LpNorm::Two => x,
            LpNorm::Other(p) => x.signum() * x.abs().powf(p - T::one()),
        }
    }

    /// `g / y^(p−1)`, and 0 where the window's norm `y` is 0 (its gradient
    /// is not defined there; 0 keeps NaN out of the training step).
    #[inline(always)]
    pub fn coefficient(self, g: T, y: T) -> T {
        if y == <T as Element>::zero() {
            return <T as Element>::zero();
        }
        match self {
            LpNorm::One => g,
            LpNorm::Two => g / y,
            LpNorm::Other(p) => g / y.powf(p - T::one()),
        }
    }
}

pub use crate::buffer::{ZeroBits, zeroed};

#[cfg(test)]
mod tests;
