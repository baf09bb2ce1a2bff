//! N-d direct correlation with implicit zeros outside the input: the generic
//! loop (any element type, ndim and strides; the reference the fast paths
//! are tested against) and the plane decomposition that runs three and more
//! dimensions on the 2-D engine.

use super::params::CorrelateParams;
use super::rows::RowKernel;
use super::taps;
use crate::buffer::try_filled;
use crate::element::Element;
use crate::error::Result;
use crate::threads::split;
use ndarray::{ArrayD, ArrayViewD, IxDyn};
use rayon::prelude::*;

/// Output elements per parallel task. A constant, so the split depends only
/// on the shape and every thread count computes the same bits.
const CHUNK: usize = 1024;

/// `out[i] = Σ_j input[i − offset + j] · taps[j]` with zeros outside `input`,
/// summed over `j` in C order.
pub fn correlate_nd<T: Element>(
    input: &ArrayViewD<'_, T>,
    kernel: &ArrayViewD<'_, T>,
    p: &CorrelateParams,
) -> Result<ArrayD<T>> {
    let ndim = p.out_shape.len();
    let taps = taps(kernel, p.flip);
    let kernel_shape = kernel.shape().to_vec();
    // Each tap's per-axis position, flattened, so the inner loop needs no
    // division.
    let mut tap_index = Vec::with_capacity(taps.len() * ndim);
    let mut j = vec![0usize; ndim];
    for _ in 0..taps.len() {
        tap_index.extend_from_slice(&j);
        increment(&mut j, &kernel_shape);
    }
    let in_shape = input.shape().to_vec();
    let out_len = p.out_len();
    let mut out = try_filled(out_len, T::zero())?;
    let body = |(chunk_index, piece): (usize, &mut [T])| {
        let mut i = unravel(chunk_index * CHUNK, &p.out_shape);
        let mut pos = vec![0usize; ndim];
        for o in piece.iter_mut() {
            let mut acc = T::zero();
            'taps: for (t, &w) in taps.iter().enumerate() {
                let jt = &tap_index[t * ndim..(t + 1) * ndim];
                for axis in 0..ndim {
                    // i + j − offset, outside [0, n) contributes zero.
                    let q = (i[axis] + jt[axis]).wrapping_sub(p.offsets[axis]);
                    if q >= in_shape[axis] {
                        continue 'taps;
                    }
                    pos[axis] = q;
                }
                acc = acc.mul_add(input[IxDyn(&pos)], w);
            }
            *o = acc;
            increment(&mut i, &p.out_shape);
        }
    };
    if split(out_len.saturating_mul(taps.len())) {
        out.par_chunks_mut(CHUNK).enumerate().for_each(body);
    } else {
        out.chunks_mut(CHUNK).enumerate().for_each(body);
    }
    // The length is the product of the shape by construction.
    Ok(ArrayD::from_shape_vec(IxDyn(&p.out_shape), out).expect("length matches shape"))
}

/// The N-d correlation as sums of 2-D plane correlations: output plane `o`
/// (over the leading axes) is `Σ_j plane(input[o − offset + j], kernel[j])`
/// over the kernel's leading indices `j` in C order, each term on the tiled
/// SIMD engine. Planes are computed in parallel, each on one thread, and
/// summed in a fixed order, so every thread count gives the same bits. Same
/// results as [`correlate_nd`] up to rounding (the summation order differs).
pub fn correlate_planes<T: RowKernel>(
    input: &ArrayViewD<'_, T>,
    kernel: &ArrayViewD<'_, T>,
    p: &CorrelateParams,
) -> Result<ArrayD<T>> {
    let ndim = p.out_shape.len();
    if ndim < 3 {
        return correlate_nd(input, kernel, p);
    }
    let lead = ndim - 2;
    // Reverse once (through `taps`), then correlate plane by plane.
    let kernel = ArrayD::from_shape_vec(kernel.raw_dim(), taps(kernel, p.flip))
        .expect("taps has the kernel's length");
    let plane_params = CorrelateParams {
        out_shape: p.out_shape[lead..].to_vec(),
        offsets: p.offsets[lead..].to_vec(),
        flip: false,
    };
    let plane_len = plane_params.out_shape.iter().product::<usize>();
    let out_len = p.out_len();
    let mut out = try_filled(out_len, T::zero())?;
    if out_len == 0 || kernel.is_empty() {
        return Ok(ArrayD::from_shape_vec(IxDyn(&p.out_shape), out).expect("length matches shape"));
    }
    let in_shape = input.shape().to_vec();
    let k_lead: Vec<usize> = kernel.shape()[..lead].to_vec();
    let k_planes: usize = k_lead.iter().product();
    let level = crate::simd::level();
    let body = |(index, piece): (usize, &mut [T])| -> Result<()> {
        let o = unravel(index, &p.out_shape[..lead]);
        let mut j = vec![0usize; lead];
        let mut q = vec![0usize; lead];
        let mut first = true;
        for _ in 0..k_planes {
            let inside = (0..lead).all(|axis| {
                q[axis] = (o[axis] + j[axis]).wrapping_sub(p.offsets[axis]);
                q[axis] < in_shape[axis]
            });
            if inside {
                let mut x = input.view();
                let mut k = kernel.view();
                for axis in 0..lead {
                    x = x.index_axis_move(ndarray::Axis(0), q[axis]);
                    k = k.index_axis_move(ndarray::Axis(0), j[axis]);
                }
                let x = x.into_dimensionality::<ndarray::Ix2>();
                let k = k.into_dimensionality::<ndarray::Ix2>();
                let (Ok(x), Ok(k)) = (x, k) else {
                    return Err(crate::error::Error::value("internal error: plane view"));
                };
                let term = crate::signal::plane::plane(
                    &x,
                    &k,
                    &plane_params,
                    crate::pad::Boundary::Constant,
                    T::zero(),
                    level,
                    false,
                    crate::signal::plane::Path::Auto,
                )?;
                for (o, &t) in piece.iter_mut().zip(term.iter()) {
                    *o = if first { t } else { o.add(t) };
                }
                first = false;
            }
            increment(&mut j, &k_lead);
        }
        Ok(())
    };
    if split(out_len.saturating_mul(kernel.len())) {
        out.par_chunks_mut(plane_len)
            .enumerate()
            .try_for_each(body)?;
    } else {
        out.chunks_mut(plane_len).enumerate().try_for_each(body)?;
    }
    Ok(ArrayD::from_shape_vec(IxDyn(&p.out_shape), out).expect("length matches shape"))
}

/// The C-order multi-index of flat position `flat`.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for axis in (0..shape.len()).rev() {
        let n = shape[axis].max(1);
        idx[axis] = flat % n;
        flat /= n;
    }
    idx
}

/// Advances a C-order multi-index by one (wrapping to zero at the end).
fn increment(idx: &mut [usize], shape: &[usize]) {
    for axis in (0..idx.len()).rev() {
        idx[axis] += 1;
        if idx[axis] < shape[axis] {
            return;
        }
        idx[axis] = 0;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::params::Mode;
    use crate::signal::params::SameOrigin;
    use ndarray::{Array, ShapeBuilder};

    /// The obviously-correct loop: every output index, every tap, zeros
    /// outside; the kernel reversed by index arithmetic rather than by `taps`.
    pub(crate) fn naive(
        input: &ArrayViewD<'_, f64>,
        kernel: &ArrayViewD<'_, f64>,
        p: &CorrelateParams,
    ) -> ArrayD<f64> {
        let mut out = ArrayD::from_elem(IxDyn(&p.out_shape), f64::NAN);
        let kshape = kernel.shape().to_vec();
        for (i, o) in out.indexed_iter_mut() {
            let mut acc = 0.0;
            for (j, &w) in kernel.indexed_iter() {
                let mut pos = Vec::new();
                let mut inside = true;
                for axis in 0..p.out_shape.len() {
                    let jj = if p.flip {
                        kshape[axis] - 1 - j[axis]
                    } else {
                        j[axis]
                    };
                    let q = i[axis] as isize + jj as isize - p.offsets[axis] as isize;
                    if q < 0 || q >= input.shape()[axis] as isize {
                        inside = false;
                    }
                    pos.push(q.max(0) as usize);
                }
                if inside {
                    acc += input[IxDyn(&pos)] * w;
                }
            }
            *o = acc;
        }
        out
    }

    fn pseudo(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) as f64 / (1u64 << 31) as f64) - 0.5
            })
            .collect()
    }

    #[test]
    fn matches_naive_loop_on_odd_shapes() {
        let cases: &[(&[usize], &[usize])] = &[
            (&[7], &[3]),
            (&[5], &[8]),
            (&[5, 7], &[2, 3]),
            (&[3, 4, 5], &[2, 3, 2]),
            (&[4, 3, 2], &[5, 1, 3]),
            (&[2, 3, 1, 3], &[1, 2, 1, 2]),
        ];
        for (seed, &(xs, ks)) in cases.iter().enumerate() {
            let x =
                Array::from_shape_vec(IxDyn(xs), pseudo(xs.iter().product(), seed as u64)).unwrap();
            let w = Array::from_shape_vec(IxDyn(ks), pseudo(ks.iter().product(), 99)).unwrap();
            for mode in [Mode::Full, Mode::Same, Mode::Valid] {
                for same in [SameOrigin::Centre, SameOrigin::Left] {
                    for flip in [false, true] {
                        let Ok(p) = CorrelateParams::new(xs, ks, mode, same, flip) else {
                            continue;
                        };
                        let want = naive(&x.view(), &w.view(), &p);
                        for got in [
                            correlate_nd(&x.view(), &w.view(), &p).unwrap(),
                            correlate_planes(&x.view(), &w.view(), &p).unwrap(),
                        ] {
                            assert_eq!(got.shape(), want.shape());
                            for (a, b) in got.iter().zip(want.iter()) {
                                assert!((a - b).abs() < 1e-12, "{xs:?} {ks:?} {mode:?} {flip}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn strided_views_and_integers() {
        // A Fortran-ordered input read through its strides.
        let x = Array::from_shape_vec((4, 5).f(), (0..20i32).collect()).unwrap();
        let w = Array::from_shape_vec((2, 2), vec![1i32, -2, 3, 4]).unwrap();
        let p =
            CorrelateParams::new(&[4, 5], &[2, 2], Mode::Full, SameOrigin::Centre, true).unwrap();
        let got = correlate_nd(&x.view().into_dyn(), &w.view().into_dyn(), &p).unwrap();
        let xf = x.mapv(f64::from).into_dyn();
        let wf = w.mapv(f64::from).into_dyn();
        let want = naive(&xf.view(), &wf.view(), &p);
        for (a, b) in got.iter().zip(want.iter()) {
            assert_eq!(f64::from(*a), *b);
        }
        // Integer arithmetic wraps as numpy's does.
        let x = Array::from_shape_vec(IxDyn(&[2]), vec![100i8, 100]).unwrap();
        let w = Array::from_shape_vec(IxDyn(&[1]), vec![3i8]).unwrap();
        let p = CorrelateParams::new(&[2], &[1], Mode::Full, SameOrigin::Centre, false).unwrap();
        let got = correlate_nd(&x.view(), &w.view(), &p).unwrap();
        assert_eq!(got.as_slice().unwrap(), &[44, 44]);
    }
}
