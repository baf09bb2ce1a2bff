//! Adaptive average and max pooling: output `o` of `O` along an axis of
//! length `L` covers `[⌊o·L/O⌋, ⌈(o+1)·L/O⌉)`. Windows vary in size, so the
//! loops are plain per-output scans in row-major order (torch's order).

use super::params::AdaptiveGeometry;
use super::window::{FnPairRow, FnRow, for_each_plane, for_each_row, for_each_row_pair};
use crate::element::{Element, Real};
use crate::threads::split;
use std::mem::MaybeUninit;

/// Where output row `r` lives: `(plane, od, oh)`.
#[inline]
fn row_coords(g: &AdaptiveGeometry, r: usize) -> (usize, usize, usize) {
    let oh = r % g.output[1];
    let rest = r / g.output[1];
    (rest / g.output[0], rest % g.output[0], oh)
}

#[inline]
fn size<T: Real>(n: usize) -> T {
    T::from_usize(n).unwrap_or_else(T::one)
}

fn is_parallel(g: &AdaptiveGeometry) -> bool {
    split(g.work())
}

/// Adaptive average pooling: the mean of each window.
/// Every element of `out` is written, so it may come uninitialised.
pub fn adaptive_avg_pool<T: Real>(g: &AdaptiveGeometry, input: &[T], out: &mut [MaybeUninit<T>]) {
    let (in_plane, [_, height, width]) = (g.in_plane(), g.input);
    for_each_row(
        out,
        g.output[2],
        is_parallel(g),
        crate::simd::level(),
        &FnRow(|r: usize, row: &mut [T]| {
            let (plane, od, oh) = row_coords(g, r);
            let plane = &input[plane * in_plane..(plane + 1) * in_plane];
            let (d0, d1) = g.window(0, od);
            let (h0, h1) = g.window(1, oh);
            for (ow, o) in row.iter_mut().enumerate() {
                let (w0, w1) = g.window(2, ow);
                let mut sum = <T as Element>::zero();
                for id in d0..d1 {
                    for ih in h0..h1 {
                        let start = (id * height + ih) * width;
                        for &v in &plane[start + w0..start + w1] {
                            sum = sum + v;
                        }
                    }
                }
                // torch divides by each window extent in turn.
                *o = sum / size::<T>(d1 - d0) / size::<T>(h1 - h0) / size::<T>(w1 - w0);
            }
        }),
    );
}

/// Adaptive max pooling with torch's rules (NaN propagates, the first of
/// equal maxima wins); `indices` receives flat positions in each plane.
/// Every element of `out` and `indices` is written.
pub fn adaptive_max_pool<T: Real>(
    g: &AdaptiveGeometry,
    input: &[T],
    out: &mut [MaybeUninit<T>],
    indices: Option<&mut [MaybeUninit<i64>]>,
) {
    let (in_plane, [_, height, width]) = (g.in_plane(), g.input);
    let cell = |r: usize, ow: usize| {
        let (plane, od, oh) = row_coords(g, r);
        let plane = &input[plane * in_plane..(plane + 1) * in_plane];
        let (d0, d1) = g.window(0, od);
        let (h0, h1) = g.window(1, oh);
        let (w0, w1) = g.window(2, ow);
        let mut best = T::neg_infinity();
        let mut best_index = (d0 * height + h0) * width + w0;
        for id in d0..d1 {
            for ih in h0..h1 {
                let start = (id * height + ih) * width;
                for (iw, &v) in plane[start + w0..start + w1].iter().enumerate() {
                    if v > best || v.is_nan() {
                        best = v;
                        best_index = start + w0 + iw;
                    }
                }
            }
        }
        (best, best_index as i64)
    };
    match indices {
        None => for_each_row(
            out,
            g.output[2],
            is_parallel(g),
            crate::simd::level(),
            &FnRow(|r: usize, row: &mut [T]| {
                for (ow, o) in row.iter_mut().enumerate() {
                    *o = cell(r, ow).0;
                }
            }),
        ),
        Some(indices) => {
            for_each_row_pair(
                out,
                indices,
                g.output[2],
                is_parallel(g),
                crate::simd::level(),
                &FnPairRow(|r: usize, row: &mut [T], idx: &mut [i64]| {
                    for (ow, (o, ix)) in row.iter_mut().zip(idx.iter_mut()).enumerate() {
                        (*o, *ix) = cell(r, ow);
                    }
                }),
            );
        }
    }
}

/// Gradient of [`adaptive_avg_pool`]: each output's gradient divided by its
/// window size, added to the window. One task per input plane.
pub fn adaptive_avg_pool_backward<T: Real>(
    g: &AdaptiveGeometry,
    grad_out: &[T],
    grad_in: &mut [MaybeUninit<T>],
) {
    let (in_plane, out_plane, [_, height, width]) = (g.in_plane(), g.out_plane(), g.input);
    for_each_plane(grad_in, in_plane, is_parallel(g), |p, plane| {
        let grads = &grad_out[p * out_plane..(p + 1) * out_plane];
        for (r, grad_row) in grads.chunks_exact(g.output[2]).enumerate() {
            let (d0, d1) = g.window(0, r / g.output[1]);
            let (h0, h1) = g.window(1, r % g.output[1]);
            for (ow, &gr) in grad_row.iter().enumerate() {
                let (w0, w1) = g.window(2, ow);
                let share = gr / size::<T>(d1 - d0) / size::<T>(h1 - h0) / size::<T>(w1 - w0);
                for id in d0..d1 {
                    for ih in h0..h1 {
                        let start = (id * height + ih) * width;
                        for v in &mut plane[start + w0..start + w1] {
                            *v = *v + share;
                        }
                    }
                }
            }
        }
    });
}
