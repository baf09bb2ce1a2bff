//! Padding: the boundary rules every family shares.
//!
//! [`Boundary`] names each way of extending an axis beyond its ends, and
//! [`source_index`] is the one place that maps a position outside the axis to
//! the input element it repeats. numpy.pad, scipy.signal's 2-D `boundary=`,
//! torch's `padding_mode` and the padding kernels all go through it.

use crate::error::{Error, Result};

mod axes;
mod backward;
mod forward;
mod plan;
pub mod reference;

pub use backward::pad_backward_into;
pub use forward::pad_into;
pub use plan::PadPlan;

use crate::element::Element;
use ndarray::{ArrayD, ArrayViewD, IxDyn};
use std::mem::MaybeUninit;

/// Runs `fill` on an uninitialised buffer of `len` elements that it must
/// write completely, and returns it as an array of `shape`.
fn filled_array<T>(
    shape: &[usize],
    len: usize,
    fill: impl FnOnce(&mut [MaybeUninit<T>]) -> Result<()>,
) -> Result<ArrayD<T>> {
    let mut data: Vec<T> = Vec::new();
    data.try_reserve_exact(len).map_err(|_| {
        Error::Memory(format!(
            "cannot allocate the result: {len} elements of {} bytes each",
            std::mem::size_of::<T>()
        ))
    })?;
    fill(&mut data.spare_capacity_mut()[..len])?;
    // SAFETY: the kernels write every element of the buffer they are given
    // (tested against the reference with NaN-prefilled buffers).
    unsafe { data.set_len(len) };
    ArrayD::from_shape_vec(IxDyn(shape), data)
        .map_err(|e| Error::value(format!("internal shape error: {e}")))
}

/// numpy.pad of `input` as a new C-contiguous array (see [`pad_into`]).
pub fn pad<T: Copy + Send + Sync>(
    input: &ArrayViewD<'_, T>,
    plan: &PadPlan,
    constants: &[[T; 2]],
) -> Result<ArrayD<T>> {
    filled_array(plan.out_shape(), plan.out_len(), |out| {
        pad_into(input, plan, constants, out)
    })
}

/// The gradient with respect to the unpadded input as a new C-contiguous
/// array (see [`pad_backward_into`]).
pub fn pad_backward<T: Element>(grad: &ArrayViewD<'_, T>, plan: &PadPlan) -> Result<ArrayD<T>> {
    filled_array(plan.in_shape(), plan.in_len(), |out| {
        pad_backward_into(grad, plan, out)
    })
}

/// How an axis continues beyond its ends (see DESIGN.md's name table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// A constant value (numpy 'constant', scipy 'fill', torch 'zeros'/'constant').
    Constant,
    /// The edge element repeated (numpy 'edge', torch 'replicate').
    Edge,
    /// Mirror without repeating the edge, `dcb|abcd` (numpy 'reflect', torch 'reflect').
    Reflect,
    /// Mirror repeating the edge, `cba|abcd` (numpy 'symmetric', scipy 'symm').
    Symmetric,
    /// Periodic (numpy 'wrap', scipy 'wrap', torch 'circular').
    Wrap,
}

impl Boundary {
    /// Parses numpy.pad's mode names and torch's aliases (`'replicate'`,
    /// `'circular'`, `'zeros'`). `arg` names the argument in the error.
    pub fn parse_pad_mode(s: &str, arg: &str) -> Result<Self> {
        match s {
            "constant" | "zeros" => Ok(Boundary::Constant),
            "edge" | "replicate" => Ok(Boundary::Edge),
            "reflect" => Ok(Boundary::Reflect),
            "symmetric" => Ok(Boundary::Symmetric),
            "wrap" | "circular" => Ok(Boundary::Wrap),
            other => Err(Error::value(format!(
                "{arg} must be one of 'constant', 'edge', 'reflect', 'symmetric', 'wrap' (or torch's 'zeros', 'replicate', 'circular'), got {other:?}"
            ))),
        }
    }

    /// numpy.pad's name for this boundary, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Boundary::Constant => "constant",
            Boundary::Edge => "edge",
            Boundary::Reflect => "reflect",
            Boundary::Symmetric => "symmetric",
            Boundary::Wrap => "wrap",
        }
    }
}

/// The input index that position `i` (which may lie outside `0..len`)
/// repeats under `boundary`, or `None` where the constant value applies.
///
/// Positions any distance outside the axis are allowed: the mirror and wrap
/// rules repeat periodically, which is what numpy.pad produces for pads wider
/// than the axis. `len` must be at least 1.
#[inline]
pub fn source_index(i: isize, len: usize, boundary: Boundary) -> Option<usize> {
    debug_assert!(len > 0);
    // Lengths come from allocated arrays, so they fit in isize.
    let n = len as isize;
    if (0..n).contains(&i) {
        return Some(i as usize);
    }
    let j = match boundary {
        Boundary::Constant => return None,
        Boundary::Edge => i.clamp(0, n - 1),
        Boundary::Wrap => i.rem_euclid(n),
        Boundary::Symmetric => {
            let m = i.rem_euclid(2 * n);
            if m < n { m } else { 2 * n - 1 - m }
        }
        Boundary::Reflect => {
            if n == 1 {
                0
            } else {
                let period = 2 * (n - 1);
                let m = i.rem_euclid(period);
                if m < n { m } else { period - m }
            }
        }
    };
    Some(j as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extend(len: usize, before: isize, after: isize, b: Boundary) -> Vec<Option<usize>> {
        (-before..len as isize + after)
            .map(|i| source_index(i, len, b))
            .collect()
    }

    fn some(v: &[usize]) -> Vec<Option<usize>> {
        v.iter().copied().map(Some).collect()
    }

    // Expected values are numpy.pad(np.arange(4), 9, mode) and friends.
    #[test]
    fn matches_numpy_pad_far_outside() {
        assert_eq!(
            extend(4, 9, 9, Boundary::Reflect),
            some(&[
                3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0
            ])
        );
        assert_eq!(
            extend(4, 9, 9, Boundary::Symmetric),
            some(&[
                0, 0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3
            ])
        );
        assert_eq!(
            extend(4, 9, 9, Boundary::Wrap),
            some(&[
                3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0
            ])
        );
        assert_eq!(
            extend(4, 2, 2, Boundary::Edge),
            some(&[0, 0, 0, 1, 2, 3, 3, 3])
        );
        assert_eq!(
            extend(2, 1, 1, Boundary::Constant),
            vec![None, Some(0), Some(1), None]
        );
    }

    #[test]
    fn single_element_axis() {
        for b in [
            Boundary::Reflect,
            Boundary::Symmetric,
            Boundary::Wrap,
            Boundary::Edge,
        ] {
            assert_eq!(extend(1, 3, 3, b), some(&[0; 7]));
        }
        assert_eq!(
            extend(2, 5, 5, Boundary::Reflect),
            some(&[1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
        );
    }

    #[test]
    fn names_and_aliases() {
        assert_eq!(
            Boundary::parse_pad_mode("replicate", "mode").unwrap(),
            Boundary::Edge
        );
        assert_eq!(
            Boundary::parse_pad_mode("circular", "mode").unwrap(),
            Boundary::Wrap
        );
        let e = Boundary::parse_pad_mode("mirror", "mode").unwrap_err();
        assert!(e.to_string().contains("mode must be one of"));
    }
}

#[cfg(test)]
mod kernel_tests {
    use super::*;
    use ndarray::{ArrayD, Axis as NdAxis, IxDyn, Slice};

    /// A small deterministic generator (tests must not depend on a seed file).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn below(&mut self, n: u64) -> usize {
            (self.next() % n) as usize
        }
    }

    const BOUNDARIES: [Boundary; 5] = [
        Boundary::Constant,
        Boundary::Edge,
        Boundary::Reflect,
        Boundary::Symmetric,
        Boundary::Wrap,
    ];

    /// An array of `shape` with distinct values, viewed through one of
    /// several layouts: C order, reversed axes, a negative stride, a step.
    fn strided_input(rng: &mut Lcg, shape: &[usize]) -> ArrayD<f64> {
        let layout = rng.below(4);
        let mut big_shape = shape.to_vec();
        if layout == 3 {
            big_shape.iter_mut().for_each(|d| *d = *d * 2 + 1);
        }
        let mut counter = 0.0;
        let base = ArrayD::from_shape_simple_fn(IxDyn(&big_shape), || {
            counter += 1.0;
            counter
        });
        match layout {
            1 => {
                let mut rev = shape.to_vec();
                rev.reverse();
                let mut n = 0.0;
                let a = ArrayD::from_shape_simple_fn(IxDyn(&rev), || {
                    n += 1.0;
                    n
                });
                a.reversed_axes()
            }
            2 if !shape.is_empty() => {
                let mut a = base;
                a.invert_axis(NdAxis(shape.len() - 1));
                a
            }
            3 => {
                let mut a = base;
                for (k, &d) in shape.iter().enumerate() {
                    a.slice_axis_inplace(NdAxis(k), Slice::new(1, Some((2 * d + 1) as isize), 2));
                }
                a
            }
            _ => base,
        }
    }

    fn random_case(rng: &mut Lcg, max_dim: usize) -> (Vec<usize>, Vec<[u64; 2]>, Boundary) {
        let ndim = rng.below(5);
        let boundary = BOUNDARIES[rng.below(5)];
        let shape: Vec<usize> = (0..ndim)
            .map(|_| {
                let d = rng.below(max_dim as u64 + 1);
                if d == 0 && boundary != Boundary::Constant {
                    1
                } else {
                    d
                }
            })
            .collect();
        let pads = shape
            .iter()
            .map(|_| {
                let wide = rng.below(4) == 0;
                let limit = if wide { 12 } else { 3 };
                [rng.below(limit) as u64, rng.below(limit) as u64]
            })
            .collect();
        (shape, pads, boundary)
    }

    #[test]
    fn forward_matches_reference_on_every_layout() {
        let mut rng = Lcg(7);
        for _ in 0..1500 {
            let (shape, pads, boundary) = random_case(&mut rng, 5);
            let input = strided_input(&mut rng, &shape);
            let plan = PadPlan::forward(&shape, &pads, boundary, "array").unwrap();
            let constants: Vec<[f64; 2]> = (0..shape.len())
                .map(|k| [-1.0 - k as f64, -100.0 - k as f64])
                .collect();
            let expected = reference::pad(&input.view(), &plan, &constants);
            let mut out = vec![MaybeUninit::new(f64::NAN); plan.out_len()];
            pad_into(&input.view(), &plan, &constants, &mut out).unwrap();
            // SAFETY: prefilled above.
            let got: Vec<f64> = out.iter().map(|v| unsafe { v.assume_init() }).collect();
            let want: Vec<f64> = expected.iter().copied().collect();
            assert_eq!(
                got,
                want,
                "shape {shape:?} pads {pads:?} {boundary:?} strides {:?}",
                input.strides()
            );
        }
    }

    #[test]
    fn backward_matches_reference_on_every_layout() {
        let mut rng = Lcg(11);
        for _ in 0..1500 {
            let (shape, pads, boundary) = random_case(&mut rng, 5);
            let plan = PadPlan::forward(&shape, &pads, boundary, "array").unwrap();
            // Integer-valued gradients sum exactly in any order.
            let grad = strided_input(&mut rng, plan.out_shape());
            let back = PadPlan::backward(plan.out_shape(), &pads, boundary, "grad").unwrap();
            assert_eq!(back.in_shape(), plan.in_shape());
            let expected = reference::pad_backward(&grad.view(), &back);
            let mut out = vec![MaybeUninit::new(f64::NAN); back.in_len()];
            pad_backward_into(&grad.view(), &back, &mut out).unwrap();
            // SAFETY: prefilled above.
            let got: Vec<f64> = out.iter().map(|v| unsafe { v.assume_init() }).collect();
            let want: Vec<f64> = expected.iter().copied().collect();
            assert_eq!(got, want, "shape {shape:?} pads {pads:?} {boundary:?}");
        }
    }

    #[test]
    fn adjoint_identity_and_integer_types() {
        let mut rng = Lcg(5);
        for _ in 0..300 {
            let (shape, pads, boundary) = random_case(&mut rng, 4);
            let plan = PadPlan::forward(&shape, &pads, boundary, "array").unwrap();
            let x = ArrayD::from_shape_simple_fn(IxDyn(&shape), || rng.below(1000) as i64 - 500);
            let g = ArrayD::from_shape_simple_fn(IxDyn(plan.out_shape()), || {
                rng.below(1000) as i64 - 500
            });
            let zeros = vec![[0i64; 2]; shape.len()];
            let px = pad(&x.view(), &plan, &zeros).unwrap();
            let back = PadPlan::backward(plan.out_shape(), &pads, boundary, "grad").unwrap();
            let gx = pad_backward(&g.view(), &back).unwrap();
            let lhs: i64 = px.iter().zip(g.iter()).map(|(a, b)| a * b).sum();
            let rhs: i64 = x.iter().zip(gx.iter()).map(|(a, b)| a * b).sum();
            assert_eq!(lhs, rhs, "shape {shape:?} pads {pads:?} {boundary:?}");
            // Narrow types move as their own bits.
            let x8 = x.mapv(|v| v as u8);
            let z8 = vec![[7u8, 9u8]; shape.len()];
            let got = pad(&x8.view(), &plan, &z8).unwrap();
            assert_eq!(got, reference::pad(&x8.view(), &plan, &z8));
        }
    }

    #[test]
    fn same_bits_for_every_thread_count() {
        let mut rng = Lcg(3);
        let shape = [3, 5, 61, 67];
        let x = ArrayD::from_shape_simple_fn(IxDyn(&shape), || rng.next() as f32 / 7.0e5);
        for boundary in BOUNDARIES {
            let pads = [[0, 0], [1, 2], [3, 3], [9, 70]];
            let plan = PadPlan::forward(&shape, &pads, boundary, "array").unwrap();
            let constants = vec![[1.5f32, 2.5]; 4];
            let back = PadPlan::backward(plan.out_shape(), &pads, boundary, "grad").unwrap();
            let run = |threads| {
                crate::threads::run(threads, || {
                    let p = pad(&x.view(), &plan, &constants).unwrap();
                    let b = pad_backward(&p.view(), &back).unwrap();
                    (p, b)
                })
                .unwrap()
            };
            let (p1, b1) = run(1);
            assert_eq!(p1, reference::pad(&x.view(), &plan, &constants));
            let bits = |a: &ArrayD<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            for threads in [2, 3] {
                let (p, b) = run(threads);
                assert_eq!(p, p1);
                assert_eq!(bits(&b), bits(&b1));
            }
            // Inline on this thread (one worker), as the bindings run it.
            let (p, b) = crate::threads::run_sized(1, usize::MAX, || {
                let p = pad(&x.view(), &plan, &constants).unwrap();
                let b = pad_backward(&p.view(), &back).unwrap();
                (p, b)
            })
            .unwrap();
            assert_eq!(p, p1);
            assert_eq!(bits(&b), bits(&b1));
            let r = reference::pad_backward(&p1.view(), &back);
            let err = r
                .iter()
                .zip(b1.iter())
                .map(|(a, b)| (a - b).abs() / a.abs().max(1.0))
                .fold(0.0f32, f32::max);
            assert!(err < 1e-5, "{boundary:?} {err}");
        }
    }

    #[test]
    fn complex_elements() {
        use num_complex::Complex;
        let mut rng = Lcg(17);
        for _ in 0..200 {
            let (shape, pads, boundary) = random_case(&mut rng, 4);
            let plan = PadPlan::forward(&shape, &pads, boundary, "array").unwrap();
            let x = ArrayD::from_shape_simple_fn(IxDyn(&shape), || {
                Complex::new(rng.below(100) as f64, rng.below(100) as f64 - 50.0)
            });
            let constants = vec![[Complex::new(1.0, -1.0), Complex::new(-2.0, 3.0)]; shape.len()];
            let px = pad(&x.view(), &plan, &constants).unwrap();
            assert_eq!(px, reference::pad(&x.view(), &plan, &constants));
            let back = PadPlan::backward(plan.out_shape(), &pads, boundary, "grad").unwrap();
            assert_eq!(
                pad_backward(&px.view(), &back).unwrap(),
                reference::pad_backward(&px.view(), &back)
            );
        }
    }
}
