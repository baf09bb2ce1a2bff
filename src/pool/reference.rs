//! The obviously-correct pooling: one loop nest per output over its whole
//! window, with every coordinate checked. The fast kernels in `window` and
//! `adaptive` are tested against these.

use super::LpNorm;
use super::params::{AdaptiveGeometry, MAX_RANK, PoolGeometry};
use crate::element::{Element, Real};

/// Every output `(plane, [od, oh, ow])` of a geometry with output `output`.
fn outputs(planes: usize, output: [usize; MAX_RANK]) -> impl Iterator<Item = (usize, [usize; 3])> {
    (0..planes).flat_map(move |p| {
        (0..output[0]).flat_map(move |d| {
            (0..output[1]).flat_map(move |h| (0..output[2]).map(move |w| (p, [d, h, w])))
        })
    })
}

/// The in-input positions of window `o` (flat in the plane), row-major.
fn window(g: &PoolGeometry, o: [usize; 3]) -> Vec<usize> {
    let mut taps = Vec::new();
    for kd in 0..g.kernel[0] {
        for kh in 0..g.kernel[1] {
            for kw in 0..g.kernel[2] {
                let coords = [kd, kh, kw];
                let mut flat = 0;
                let mut inside = true;
                for axis in 0..MAX_RANK {
                    let pos = (o[axis] * g.stride[axis] + coords[axis] * g.dilation[axis]) as i64
                        - g.padding[axis] as i64;
                    if pos < 0 || pos >= g.input[axis] as i64 {
                        inside = false;
                    }
                    flat = flat * g.input[axis] as i64 + pos;
                }
                if inside {
                    taps.push(flat as usize);
                }
            }
        }
    }
    taps
}

/// Max pooling, always with indices.
pub fn max_pool<T: Real>(g: &PoolGeometry, input: &[T], out: &mut [T], indices: &mut [i64]) {
    for (i, (p, o)) in outputs(g.planes, g.output).enumerate() {
        let plane = &input[p * g.in_plane()..];
        let taps = window(g, o);
        let (mut best, mut best_index) = (T::neg_infinity(), taps[0]);
        for &t in &taps {
            if plane[t] > best || plane[t].is_nan() {
                best = plane[t];
                best_index = t;
            }
        }
        out[i] = best;
        indices[i] = best_index as i64;
    }
}

fn divisor(
    g: &PoolGeometry,
    o: [usize; 3],
    count_include_pad: bool,
    divisor_override: Option<usize>,
) -> usize {
    divisor_override.unwrap_or_else(|| {
        (0..MAX_RANK)
            .map(|axis| {
                let start = (o[axis] * g.stride[axis]) as i64 - g.padding[axis] as i64;
                let len = g.input[axis] as i64;
                let end = (start + g.kernel[axis] as i64).min(len + g.padding[axis] as i64);
                if count_include_pad {
                    (end - start) as usize
                } else {
                    (end.min(len) - start.max(0)) as usize
                }
            })
            .product()
    })
}

/// Average pooling.
pub fn avg_pool<T: Real>(
    g: &PoolGeometry,
    input: &[T],
    out: &mut [T],
    count_include_pad: bool,
    divisor_override: Option<usize>,
) {
    for (i, (p, o)) in outputs(g.planes, g.output).enumerate() {
        let plane = &input[p * g.in_plane()..];
        let sum = window(g, o)
            .iter()
            .fold(<T as Element>::zero(), |s, &t| s + plane[t]);
        out[i] = sum / T::from_usize(divisor(g, o, count_include_pad, divisor_override)).unwrap();
    }
}

/// Lp pooling.
pub fn lp_pool<T: Real>(g: &PoolGeometry, input: &[T], out: &mut [T], norm: LpNorm<T>) {
    for (i, (p, o)) in outputs(g.planes, g.output).enumerate() {
        let plane = &input[p * g.in_plane()..];
        let sum = window(g, o)
            .iter()
            .fold(<T as Element>::zero(), |s, &t| s + norm.power(plane[t]));
        out[i] = norm.root(sum);
    }
}

/// Gradient of average pooling, scattered window by window.
pub fn avg_pool_backward<T: Real>(
    g: &PoolGeometry,
    grad_out: &[T],
    grad_in: &mut [T],
    count_include_pad: bool,
    divisor_override: Option<usize>,
) {
    grad_in.fill(<T as Element>::zero());
    for (i, (p, o)) in outputs(g.planes, g.output).enumerate() {
        let d = T::from_usize(divisor(g, o, count_include_pad, divisor_override)).unwrap();
        for t in window(g, o) {
            let slot = &mut grad_in[p * g.in_plane() + t];
            *slot = *slot + grad_out[i] / d;
        }
    }
}

/// Gradient of Lp pooling, element by element from the formula.
pub fn lp_pool_backward<T: Real>(
    g: &PoolGeometry,
    grad_out: &[T],
    input: &[T],
    output: &[T],
    grad_in: &mut [T],
    norm: LpNorm<T>,
) {
    grad_in.fill(<T as Element>::zero());
    for (i, (p, o)) in outputs(g.planes, g.output).enumerate() {
        for t in window(g, o) {
            let k = p * g.in_plane() + t;
            grad_in[k] =
                grad_in[k] + norm.coefficient(grad_out[i], output[i]) * norm.derivative(input[k]);
        }
    }
}

fn adaptive_window(g: &AdaptiveGeometry, o: [usize; 3]) -> (Vec<usize>, usize) {
    let bounds: Vec<(usize, usize)> = (0..MAX_RANK)
        .map(|axis| {
            let (len, out) = (g.input[axis] as f64, g.output[axis] as f64);
            let start = (o[axis] as f64 * len / out).floor() as usize;
            let end = ((o[axis] + 1) as f64 * len / out).ceil() as usize;
            (start, end)
        })
        .collect();
    let mut taps = Vec::new();
    for d in bounds[0].0..bounds[0].1 {
        for h in bounds[1].0..bounds[1].1 {
            for w in bounds[2].0..bounds[2].1 {
                taps.push((d * g.input[1] + h) * g.input[2] + w);
            }
        }
    }
    let count = taps.len();
    (taps, count)
}

/// Adaptive average pooling.
pub fn adaptive_avg_pool<T: Real>(g: &AdaptiveGeometry, input: &[T], out: &mut [T]) {
    for (i, (p, o)) in outputs(g.planes, g.output).enumerate() {
        let (taps, count) = adaptive_window(g, o);
        let sum = taps.iter().fold(<T as Element>::zero(), |s, &t| {
            s + input[p * g.in_plane() + t]
        });
        out[i] = sum / T::from_usize(count).unwrap();
    }
}

/// Adaptive max pooling with indices.
pub fn adaptive_max_pool<T: Real>(
    g: &AdaptiveGeometry,
    input: &[T],
    out: &mut [T],
    indices: &mut [i64],
) {
    for (i, (p, o)) in outputs(g.planes, g.output).enumerate() {
        let (taps, _) = adaptive_window(g, o);
        let plane = &input[p * g.in_plane()..];
        let (mut best, mut best_index) = (T::neg_infinity(), taps[0]);
        for &t in &taps {
            if plane[t] > best || plane[t].is_nan() {
                best = plane[t];
                best_index = t;
            }
        }
        out[i] = best;
        indices[i] = best_index as i64;
    }
}

/// Gradient of adaptive average pooling.
pub fn adaptive_avg_pool_backward<T: Real>(
    g: &AdaptiveGeometry,
    grad_out: &[T],
    grad_in: &mut [T],
) {
    grad_in.fill(<T as Element>::zero());
    for (i, (p, o)) in outputs(g.planes, g.output).enumerate() {
        let (taps, count) = adaptive_window(g, o);
        for t in taps {
            let slot = &mut grad_in[p * g.in_plane() + t];
            *slot = *slot + grad_out[i] / T::from_usize(count).unwrap();
        }
    }
}
