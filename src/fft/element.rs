//! What the FFT engine needs from an element type: the transform along the
//! last (row) axis. Real inputs use a real-to-complex transform (half the
//! spectrum, half the work), complex inputs a full complex transform; every
//! other axis is a complex transform in both cases.

use crate::element::Element;
use ndarray::{ArrayView1, ArrayViewMut1};
use num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftNum, FftPlanner};
use std::sync::{Arc, Mutex, OnceLock};

/// Plans built once per call; rustfft plans are immutable and shared by
/// every thread.
pub struct Planners<R: FftNum> {
    complex: FftPlanner<R>,
    real: RealFftPlanner<R>,
}

impl<R: FftNum> Planners<R> {
    /// Empty planners (plans are cached inside per length).
    pub fn new() -> Self {
        Self {
            complex: FftPlanner::new(),
            real: RealFftPlanner::new(),
        }
    }

    /// The forward and inverse complex transforms of `len` points.
    pub fn complex_pair(&mut self, len: usize) -> ComplexPlans<R> {
        ComplexPlans {
            forward: self.complex.plan_fft_forward(len),
            inverse: self.complex.plan_fft_inverse(len),
        }
    }
}

impl<R: FftNum> Default for Planners<R> {
    fn default() -> Self {
        Self::new()
    }
}

/// The process-wide planners of one precision. Planning a length (choosing
/// the algorithm, computing twiddles) costs far more than a small
/// convolution, so plans are built once per length and shared by later calls.
pub trait CachedPlanners: FftNum {
    /// The shared planners of this precision.
    fn planners() -> &'static Mutex<Planners<Self>>;
}

macro_rules! cached_planners {
    ($($r:ty),*) => {$(
        impl CachedPlanners for $r {
            fn planners() -> &'static Mutex<Planners<$r>> {
                static PLANNERS: OnceLock<Mutex<Planners<$r>>> = OnceLock::new();
                PLANNERS.get_or_init(|| Mutex::new(Planners::new()))
            }
        }
    )*};
}
cached_planners!(f32, f64);

/// A forward and an inverse complex transform of one length.
#[derive(Clone)]
pub struct ComplexPlans<R: FftNum> {
    /// Unnormalised forward transform.
    pub forward: Arc<dyn Fft<R>>,
    /// Unnormalised inverse transform.
    pub inverse: Arc<dyn Fft<R>>,
}

impl<R: FftNum> ComplexPlans<R> {
    /// Scratch length that both transforms need for in-place processing.
    pub fn scratch_len(&self) -> usize {
        self.forward
            .get_inplace_scratch_len()
            .max(self.inverse.get_inplace_scratch_len())
    }
}

/// The real-to-complex pair of one (even) length.
#[derive(Clone)]
pub struct RealPlans<R: FftNum> {
    forward: Arc<dyn RealToComplex<R>>,
    inverse: Arc<dyn ComplexToReal<R>>,
}

/// Per-task buffers for one row transform; reused across rows.
pub struct RowScratch<R> {
    real: Vec<R>,
    complex: Vec<Complex<R>>,
    fft: Vec<Complex<R>>,
}

/// An element type the FFT engine computes in: f32, f64, Complex<f32>,
/// Complex<f64>. The precision of the transforms is the element's own.
pub trait FftElement: Element {
    /// The underlying real type.
    type Real: FftNum + CachedPlanners + num_traits::Float + Default;
    /// Plans for the last transformed axis.
    type RowPlans: Clone + Send + Sync;
    /// Whether the last axis uses the real-to-complex transform (whose
    /// length is then kept even: realfft halves even lengths directly).
    const REAL: bool;

    /// Number of spectrum entries a row of `len` points produces.
    fn spectrum_len(len: usize) -> usize;
    /// Plans the row transform of `len` points.
    fn plan_rows(planners: &mut Planners<Self::Real>, len: usize) -> Self::RowPlans;
    /// Scratch sized for these plans.
    fn row_scratch(plans: &Self::RowPlans, len: usize) -> RowScratch<Self::Real>;
    /// Zero-pads `src` to the transform length and writes its spectrum to `dst`.
    fn forward_row(
        plans: &Self::RowPlans,
        src: ArrayView1<'_, Self>,
        dst: ArrayViewMut1<'_, Complex<Self::Real>>,
        scratch: &mut RowScratch<Self::Real>,
    );
    /// Inverse-transforms the spectrum `src` (consumed: it is scratch) and
    /// writes the points `first, first + 1, ...` of the result to `dst`.
    fn inverse_row(
        plans: &Self::RowPlans,
        src: ArrayViewMut1<'_, Complex<Self::Real>>,
        first: usize,
        dst: ArrayViewMut1<'_, Self>,
        scratch: &mut RowScratch<Self::Real>,
    );
}

/// Copies a (possibly strided) row into a buffer of the same length; a
/// contiguous row is one memcpy instead of an element-wise strided walk.
fn copy_in<X: Copy>(dst: &mut [X], src: ArrayView1<'_, X>) {
    match src.as_slice() {
        Some(slice) => dst.copy_from_slice(slice),
        None => dst.iter_mut().zip(src.iter()).for_each(|(d, v)| *d = *v),
    }
}

/// Copies a buffer into a (possibly strided) row of the same length.
fn copy_out<X: Copy>(mut dst: ArrayViewMut1<'_, X>, src: &[X]) {
    match dst.as_slice_mut() {
        Some(slice) => slice.copy_from_slice(src),
        None => dst.iter_mut().zip(src).for_each(|(d, v)| *d = *v),
    }
}

macro_rules! fft_element {
    ($($r:ty),*) => {$(
        impl FftElement for $r {
            type Real = $r;
            type RowPlans = RealPlans<$r>;
            const REAL: bool = true;

            fn spectrum_len(len: usize) -> usize {
                len / 2 + 1
            }

            fn plan_rows(planners: &mut Planners<$r>, len: usize) -> RealPlans<$r> {
                RealPlans {
                    forward: planners.real.plan_fft_forward(len),
                    inverse: planners.real.plan_fft_inverse(len),
                }
            }

            fn row_scratch(plans: &RealPlans<$r>, len: usize) -> RowScratch<$r> {
                let fft_len = plans.forward.get_scratch_len().max(plans.inverse.get_scratch_len());
                RowScratch {
                    real: vec![0.0; len],
                    complex: vec![Complex::default(); len / 2 + 1],
                    fft: vec![Complex::default(); fft_len],
                }
            }

            fn forward_row(
                plans: &RealPlans<$r>,
                src: ArrayView1<'_, $r>,
                dst: ArrayViewMut1<'_, Complex<$r>>,
                s: &mut RowScratch<$r>,
            ) {
                let n = src.len();
                copy_in(&mut s.real[..n], src);
                s.real[n..].fill(0.0);
                let mut dst = dst;
                // Only wrong buffer lengths can fail, and they are sized from the same plan.
                if let Some(row) = dst.as_slice_mut() {
                    let result = plans.forward.process_with_scratch(&mut s.real, row, &mut s.fft);
                    debug_assert!(result.is_ok());
                } else {
                    let result = plans.forward.process_with_scratch(&mut s.real, &mut s.complex, &mut s.fft);
                    debug_assert!(result.is_ok());
                    copy_out(dst, &s.complex);
                }
            }

            fn inverse_row(
                plans: &RealPlans<$r>,
                mut src: ArrayViewMut1<'_, Complex<$r>>,
                first: usize,
                dst: ArrayViewMut1<'_, $r>,
                s: &mut RowScratch<$r>,
            ) {
                let even = s.real.len() % 2 == 0;
                let spectrum: &mut [Complex<$r>] = match src.as_slice_mut() {
                    Some(row) => row,
                    None => {
                        copy_in(&mut s.complex, src.view());
                        &mut s.complex
                    }
                };
                // The spectrum of a real signal has real end points; after the
                // other axes' round trip they carry rounding noise, which the
                // real inverse transform would otherwise report.
                let last = spectrum.len() - 1;
                spectrum[0].im = 0.0;
                if even {
                    spectrum[last].im = 0.0;
                }
                let result = plans.inverse.process_with_scratch(spectrum, &mut s.real, &mut s.fft);
                debug_assert!(result.is_ok());
                let len = dst.len();
                copy_out(dst, &s.real[first..first + len]);
            }
        }

        impl FftElement for Complex<$r> {
            type Real = $r;
            type RowPlans = ComplexPlans<$r>;
            const REAL: bool = false;

            fn spectrum_len(len: usize) -> usize {
                len
            }

            fn plan_rows(planners: &mut Planners<$r>, len: usize) -> ComplexPlans<$r> {
                planners.complex_pair(len)
            }

            fn row_scratch(plans: &ComplexPlans<$r>, len: usize) -> RowScratch<$r> {
                RowScratch {
                    real: Vec::new(),
                    complex: vec![Complex::default(); len],
                    fft: vec![Complex::default(); plans.scratch_len()],
                }
            }

            fn forward_row(
                plans: &ComplexPlans<$r>,
                src: ArrayView1<'_, Complex<$r>>,
                dst: ArrayViewMut1<'_, Complex<$r>>,
                s: &mut RowScratch<$r>,
            ) {
                let n = src.len();
                let mut dst = dst;
                if let Some(row) = dst.as_slice_mut() {
                    copy_in(&mut row[..n], src);
                    row[n..].fill(Complex::default());
                    plans.forward.process_with_scratch(row, &mut s.fft);
                } else {
                    copy_in(&mut s.complex[..n], src);
                    s.complex[n..].fill(Complex::default());
                    plans.forward.process_with_scratch(&mut s.complex, &mut s.fft);
                    copy_out(dst, &s.complex);
                }
            }

            fn inverse_row(
                plans: &ComplexPlans<$r>,
                mut src: ArrayViewMut1<'_, Complex<$r>>,
                first: usize,
                dst: ArrayViewMut1<'_, Complex<$r>>,
                s: &mut RowScratch<$r>,
            ) {
                let len = dst.len();
                match src.as_slice_mut() {
                    Some(row) => {
                        plans.inverse.process_with_scratch(row, &mut s.fft);
                        copy_out(dst, &row[first..first + len]);
                    }
                    None => {
                        copy_in(&mut s.complex, src.view());
                        plans.inverse.process_with_scratch(&mut s.complex, &mut s.fft);
                        copy_out(dst, &s.complex[first..first + len]);
                    }
                }
            }
        }
    )*};
}
fft_element!(f32, f64);
