//! The naive reference: every convolution written as its defining loop.
//! Slow and obviously correct; the fast paths are tested against it.

use super::params::ConvGeometry;
use super::zero;
use crate::element::Real;
use crate::pad::{Boundary, source_index};

/// Source index along one axis of output position `o` and kernel tap `k`,
/// or `None` in the zero-padded region.
fn source(g: &ConvGeometry, axis: usize, o: usize, k: usize, boundary: Boundary) -> Option<usize> {
    let pos = (o * g.stride[axis] + k * g.dilation[axis]) as isize - g.pad_before[axis] as isize;
    source_index(pos, g.in_size[axis], boundary)
}

/// Calls `f(input_offset, weight_offset, output_offset)` for every
/// multiply-add of the convolution, in a fixed order.
fn for_each_tap(g: &ConvGeometry, boundary: Boundary, mut f: impl FnMut(usize, usize, usize)) {
    let [id_, ih_, iw_] = g.in_size;
    let [od_, oh_, ow_] = g.out_size;
    let [kd_, kh_, kw_] = g.kernel;
    let (cig, cog) = (g.in_per_group(), g.out_per_group());
    for n in 0..g.batch {
        for oc in 0..g.out_channels {
            let group = oc / cog;
            for od in 0..od_ {
                for oh in 0..oh_ {
                    for ow in 0..ow_ {
                        let o = (((n * g.out_channels + oc) * od_ + od) * oh_ + oh) * ow_ + ow;
                        for icg in 0..cig {
                            let ic = group * cig + icg;
                            for kd in 0..kd_ {
                                let Some(sd) = source(g, 0, od, kd, boundary) else {
                                    continue;
                                };
                                for kh in 0..kh_ {
                                    let Some(sh) = source(g, 1, oh, kh, boundary) else {
                                        continue;
                                    };
                                    for kw in 0..kw_ {
                                        let Some(sw) = source(g, 2, ow, kw, boundary) else {
                                            continue;
                                        };
                                        let i = (((n * g.in_channels + ic) * id_ + sd) * ih_ + sh)
                                            * iw_
                                            + sw;
                                        let w =
                                            (((oc * cig + icg) * kd_ + kd) * kh_ + kh) * kw_ + kw;
                                        f(i, w, o);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// out = conv(input, weight) + bias, with `g.boundary` filling the padding.
pub fn forward<T: Real>(
    g: &ConvGeometry,
    input: &[T],
    weight: &[T],
    bias: Option<&[T]>,
    out: &mut [T],
) {
    let plane = g.out_size.iter().product::<usize>();
    for (i, v) in out.iter_mut().enumerate() {
        let oc = (i / plane) % g.out_channels.max(1);
        *v = bias.map_or(zero::<T>(), |b| b[oc]);
    }
    for_each_tap(g, g.boundary, |i, w, o| {
        out[o] = out[o] + input[i] * weight[w]
    });
}

/// grad_input = convᵀ(grad_output): the adjoint of the zero-padded forward.
pub fn input_grad<T: Real>(
    g: &ConvGeometry,
    weight: &[T],
    grad_output: &[T],
    grad_input: &mut [T],
) {
    grad_input.fill(zero::<T>());
    for_each_tap(g, Boundary::Constant, |i, w, o| {
        grad_input[i] = grad_input[i] + grad_output[o] * weight[w];
    });
}

/// grad_weight = Σ_n grad_output ⋆ input (zero padding).
pub fn weight_grad<T: Real>(
    g: &ConvGeometry,
    input: &[T],
    grad_output: &[T],
    grad_weight: &mut [T],
) {
    grad_weight.fill(zero::<T>());
    for_each_tap(g, Boundary::Constant, |i, w, o| {
        grad_weight[w] = grad_weight[w] + grad_output[o] * input[i];
    });
}
