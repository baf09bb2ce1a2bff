//! Direct kernels for one input channel per group with several outputs per
//! group: the few-channel first layer ((32, 1, 28, 28)→32 5×5 is the MNIST
//! one) and depthwise convolutions with a channel multiplier.
//!
//! There the GEMM formulation has K = the kernel volume (25) and the
//! im2col copy, the GEMM's packing and its fixed costs weigh as much as
//! the multiply-adds (measured single-threaded on the MNIST shape: the
//! GEMM micro-kernel was 42 % of the forward pass, im2col 16 %, packing
//! copies and fills 13 %). These kernels read the input plane where it is
//! and keep a block of outputs in registers:
//!
//! - forward: 4 output channels × up to 3 vectors of 8 output columns of
//!   one output row, the taps' weights broadcast (12 accumulators); the
//!   same kernel sums over several input channels per group for the
//!   float32 forward pass of narrow layers ([`forward_applies`]), where it
//!   beats im2col + GEMM;
//! - input gradient (stride 1): the adjoint is a correlation of the
//!   zero-padded output gradient with the flipped kernel, summed over the
//!   group's output channels: 2 input rows × up to 4 vectors accumulate
//!   over every channel and tap;
//! - weight gradient: 2 output channels × up to 5 taps of one kernel row as
//!   vector accumulators over the whole batch, reduced across lanes once at
//!   the end. A task owns its output channels and sums over the batch in
//!   one fixed order, so the result does not depend on the thread count.
//!
//! Sources are read through a padded copy only when the convolution pads
//! (or reads past the input); the last vector of a row uses masked loads
//! and stores, so nothing outside a plane is touched. The portable kernels
//! do the same arithmetic with plain loops (separate multiply and add, so
//! the AVX2 kernels' fused multiply-adds round differently in the last
//! bit); they serve float64, `RUSTCONV_NO_SIMD` and CPUs without AVX2.

use super::params::ConvGeometry;
use super::zero;
use crate::element::Real;
use crate::pad::{Boundary, source_index};
use crate::simd::Level;
use rayon::prelude::*;
use std::any::TypeId;
use std::borrow::Cow;

/// The convolution is 2-D or 1-D in disguise: a single depth slice.
fn flat(g: &ConvGeometry) -> bool {
    g.in_size[0] == 1 && g.kernel[0] == 1 && g.out_size[0] == 1 && g.pad_before[0] == 0
}

/// One input channel per group and at least two outputs sharing it, unit
/// stride along W (vector loads of consecutive columns), and a padded
/// source that stays near the size of the input and output (a huge padding
/// with a huge stride goes to the other paths): the geometries every pass
/// of this module takes, for every element type.
pub fn applies(g: &ConvGeometry) -> bool {
    applies_up_to(g, 1)
}

/// [`applies`] with up to `max_in` input channels per group.
fn applies_up_to(g: &ConvGeometry, max_in: usize) -> bool {
    g.in_per_group() <= max_in
        && g.out_per_group() >= 2
        && g.stride[2] == 1
        && flat(g)
        && g.macs() > 0
        && padded_size(g).is_some()
}

/// [`applies_up_to`] `max_in` input channels per group, for the SIMD
/// kernels only (float32 with AVX2 or AVX-512) and never 1×1: with several
/// input channels the portable loops are no match for the GEMM's
/// micro-kernels, and a 1×1 layer is a plain GEMM.
fn several_channels<T: 'static>(g: &ConvGeometry, level: Level, max_in: usize) -> bool {
    use_avx2::<T>(level) && g.kernel_volume() > 1 && applies_up_to(g, max_in)
}

/// Whether [`forward`] applies to `g`: [`applies`], or several input
/// channels per group (whose planes each output block sums over) where
/// that beats im2col + GEMM. Measured single-threaded and on two threads,
/// float32, interleaved (time against the GEMM path; the same bits while
/// the GEMM's K = C_in/g × taps stays within one 512-deep block): 3×3 pad
/// 1 (8, C, 56, 56)→C' for C = 2 … 32 0.69–0.78×, (8, C, 28, 28)→C 48,
/// 64, 96 and 128 0.70–0.91×, (8, 64, 14, 14)→64 0.85×, (8, 32, 7, 7)→32
/// 0.80×, but (8, 64, 7, 7)→64 1.17× and (8, 128, 14, 14)→256 1.20×: a
/// narrow output row fills few vector lanes while every input channel
/// costs the same loads. 1×1 layers were 1.3–1.8× slower direct.
pub fn forward_applies<T: 'static>(g: &ConvGeometry, level: Level) -> bool {
    applies(g)
        || (several_channels::<T>(g, level, 128) && wide_enough(g.in_per_group(), g.out_size[2]))
}

/// Input channels per group below which the forward pass of a 3×3 layer
/// takes [`forward`] rather than Winograd, where both apply: (8, 24, 56,
/// 56)→24 0.86–0.90× the Winograd time, (8, 32, 56, 56)→32 0.98–1.01×,
/// (8, 64, 28, 28)→64 1.07–1.15×.
pub const BEFORE_WINOGRAD_BELOW: usize = 32;

/// Whether [`input_grad`] applies to `g` with one input channel per group
/// (unit stride on both axes), for every element type.
pub fn input_grad_applies(g: &ConvGeometry) -> bool {
    applies(g) && adjoint_fits(g)
}

/// Unit stride on both axes and a padded output-gradient plane within
/// budget: what [`input_grad`]'s correlation needs.
fn adjoint_fits(g: &ConvGeometry) -> bool {
    g.stride[1] == 1 && adjoint_size(g).is_some()
}

/// [`input_grad_applies`], or several input channels per group: the
/// adjoint is then the forward kernel run on the padded output gradient
/// (summing over the group's output channels, for a block of its input
/// channels), where that beats im2col's GEMM + col2im. Measured as
/// [`forward_applies`] (time against the GEMM path, one and two threads):
/// (8, 16, 56, 56)→16 3×3 0.44–0.50×, (1, 16, 112, 112)→16 0.50–0.53×,
/// (8, 8, 64, 64)→16 0.46–0.56×, 5×5 (8, 32, 28, 28)→64 0.68×, (8, 128,
/// 28, 28)→128 0.89–0.92×, (8, 64, 14, 14)→64 0.78–0.81×; but with 3
/// input channels ((8, 3, 224, 224)→64 3×3) 2.2–2.5×: the kernel's blocks
/// of output planes, here the input channels, must be full. So: at least
/// 8 input channels per group, and [`forward_applies`]'s rule on the
/// output channels per group (the adjoint's summed channels) and the
/// input width.
pub fn input_grad_applies_simd<T: 'static>(g: &ConvGeometry, level: Level) -> bool {
    let several = several_channels::<T>(g, level, 128)
        && g.in_per_group() >= 8
        && wide_enough(g.out_per_group(), g.in_size[2]);
    (applies(g) || several) && adjoint_fits(g)
}

/// Whether [`weight_grad`] applies to `g`: [`applies`], or up to 16 input
/// and 16 output channels per group, each input plane correlated with the
/// group's output gradient. Measured against the im2col GEMM (time, one
/// and two threads): (8, 8, 64, 64)→16 3×3 0.24–0.26×, (1, 16, 112,
/// 112)→16 0.89×, (8, 16, 56, 56)→16 0.94×, (8, 16, 56, 56)→32 5×5
/// 0.97–0.99×, but (8, 32, 28, 28)→64 5×5 1.58× and (8, 3, 224, 224)→64
/// 2.1–2.4×: the kernel keeps 2 output channels × 5 taps in registers,
/// and wider layers are the GEMM's.
pub fn weight_grad_applies_simd<T: 'static>(g: &ConvGeometry, level: Level) -> bool {
    applies(g) || (several_channels::<T>(g, level, 16) && g.out_per_group() <= 16)
}

/// Whether a direct kernel summing over `channels` source planes for
/// output rows `width` wide beats the GEMM (see [`forward_applies`]).
fn wide_enough(channels: usize, width: usize) -> bool {
    channels <= 32 || (channels <= 64 && width >= 14) || (channels <= 128 && width >= 28)
}

/// Rows and columns of the input a forward pass reads, counted from the
/// first padded position: (OH − 1)·S + D·(K − 1) + 1.
fn needed(g: &ConvGeometry, axis: usize) -> Option<usize> {
    (g.out_size[axis] - 1)
        .checked_mul(g.stride[axis])?
        .checked_add((g.kernel[axis] - 1).checked_mul(g.dilation[axis])?)?
        .checked_add(1)
}

/// The size budget of a scratch plane: a few times an input and an output
/// plane, so the scratch of a whole call stays within a few times the
/// arrays the caller already holds.
fn budget(g: &ConvGeometry) -> Option<usize> {
    let in_plane = g.in_size[1].checked_mul(g.in_size[2])?;
    let out_plane = g.out_size[1].checked_mul(g.out_size[2])?;
    in_plane.checked_add(out_plane)?.checked_mul(4)
}

/// Elements of one padded input plane, if within budget.
fn padded_size(g: &ConvGeometry) -> Option<usize> {
    let size = needed(g, 1)?.checked_mul(needed(g, 2)?)?;
    (size <= budget(g)?).then_some(size)
}

/// Elements of one padded output-gradient plane (see [`input_grad`]).
fn adjoint_size(g: &ConvGeometry) -> Option<usize> {
    let rows = g.in_size[1].checked_add((g.kernel[1] - 1).checked_mul(g.dilation[1])?)?;
    let cols = g.in_size[2]
        .checked_next_multiple_of(8)?
        .checked_add((g.kernel[2] - 1).checked_mul(g.dilation[2])?)?;
    let size = rows.checked_mul(cols)?;
    (size <= budget(g)?).then_some(size)
}

/// Planes (`count` of them, `rows × cols` each, row-major) that a kernel
/// reads with every tap in bounds.
struct Planes<'a, T: Clone> {
    data: Cow<'a, [T]>,
    rows: usize,
    cols: usize,
}

impl<T: Clone> Planes<'_, T> {
    fn plane(&self, i: usize) -> &[T] {
        self.planes(i, 1)
    }

    /// Planes `first .. first + count`, consecutive.
    fn planes(&self, first: usize, count: usize) -> &[T] {
        let len = self.rows * self.cols;
        &self.data[first * len..][..count * len]
    }
}

/// The input planes of `g`, padded by `boundary` where the convolution
/// reads outside the input (borrowed as they are when it never does), or
/// `None` when the padded copy cannot be allocated.
fn padded_input<'a, T: Real>(
    g: &ConvGeometry,
    input: &'a [T],
    boundary: Boundary,
    parallel: bool,
) -> Option<Planes<'a, T>> {
    let [_, h, w] = g.in_size;
    // padded_size (checked by `applies`) guarantees these exist.
    let rows = needed(g, 1).unwrap_or(0);
    let cols = needed(g, 2).unwrap_or(0);
    if g.pad_before[1] == 0 && g.pad_before[2] == 0 && rows <= h && cols <= w {
        return Some(Planes {
            data: Cow::Borrowed(input),
            rows: h,
            cols: w,
        });
    }
    let count = g.batch * g.in_channels;
    let col_src: Vec<Option<usize>> = (0..cols)
        .map(|c| source_index(c as isize - g.pad_before[2] as isize, w, boundary))
        .collect();
    let mut data = crate::buffer::try_filled(count.checked_mul(rows * cols)?, zero::<T>()).ok()?;
    let fill = |i: usize, plane: &mut [T]| {
        let x = &input[i * h * w..][..h * w];
        for (r, row) in plane.chunks_exact_mut(cols).enumerate() {
            let Some(sr) = source_index(r as isize - g.pad_before[1] as isize, h, boundary) else {
                continue; // zero padding: the row stays zero
            };
            let x_row = &x[sr * w..][..w];
            for (d, s) in row.iter_mut().zip(&col_src) {
                if let Some(s) = *s {
                    *d = x_row[s];
                }
            }
        }
    };
    let len = rows * cols;
    if parallel {
        data.par_chunks_mut(len)
            .enumerate()
            .for_each(|(i, p)| fill(i, p));
    } else {
        data.chunks_mut(len)
            .enumerate()
            .for_each(|(i, p)| fill(i, p));
    }
    Some(Planes {
        data: Cow::Owned(data),
        rows,
        cols,
    })
}

/// Whether the AVX2 float32 kernels may run for `T` at `level`.
fn use_avx2<T: 'static>(level: Level) -> bool {
    cfg!(target_arch = "x86_64")
        && level >= Level::Avx2Fma
        && TypeId::of::<T>() == TypeId::of::<f32>()
}

/// `s` as float32.
///
/// # Safety
/// `T` must be `f32`.
#[cfg(target_arch = "x86_64")]
unsafe fn as_f32<T>(s: &[T]) -> &[f32] {
    // SAFETY: T is f32 (the caller's contract): same layout and length.
    unsafe { std::slice::from_raw_parts(s.as_ptr().cast(), s.len()) }
}

/// `s` as float32, mutable.
///
/// # Safety
/// `T` must be `f32`.
#[cfg(target_arch = "x86_64")]
unsafe fn as_f32_mut<T>(s: &mut [T]) -> &mut [f32] {
    // SAFETY: T is f32 (the caller's contract): same layout and length.
    unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast(), s.len()) }
}

/// The sizes one kernel call works with. The source is `rows × cols`
/// (row-major) per plane; output row `o` and column `c` read source row
/// `o·stride_h + kh·dilation_h` and column `c + kw·dilation_w`.
#[derive(Clone, Copy, Debug)]
struct Shape {
    kernel_h: usize,
    kernel_w: usize,
    stride_h: usize,
    dilation_h: usize,
    dilation_w: usize,
    out_h: usize,
    out_w: usize,
    rows: usize,
    cols: usize,
    /// Source rows outside `live_rows.0 .. live_rows.1` hold zeros, so a
    /// tap that reads only those adds nothing and may be skipped.
    live_rows: (usize, usize),
}

impl Shape {
    fn taps(&self) -> usize {
        self.kernel_h * self.kernel_w
    }

    /// The kernel rows that output rows `o0 .. o0 + count` (stride 1) read
    /// from live source rows: the others meet only zero rows.
    #[inline]
    fn live_taps(&self, o0: usize, count: usize) -> std::ops::Range<usize> {
        let (lo, hi) = self.live_rows;
        let d = self.dilation_h;
        let first = lo.saturating_sub(o0 + count - 1).div_ceil(d);
        let last = hi.saturating_sub(o0).div_ceil(d).min(self.kernel_h);
        first.min(last)..last
    }

    /// Panics unless every tap of every output stays inside a source plane
    /// of `len` elements (the kernels' bounds precondition).
    fn check_source(&self, len: usize) {
        let last_row = (self.out_h - 1) * self.stride_h + (self.kernel_h - 1) * self.dilation_h;
        let last_col = (self.out_w - 1) + (self.kernel_w - 1) * self.dilation_w;
        assert!(
            last_row < self.rows && last_col < self.cols && self.rows * self.cols <= len,
            "few-channel kernel: source plane out of bounds"
        );
    }

    /// [`Shape::check_source`] for whole vectors: every output row's
    /// columns rounded up to a multiple of 8 read inside the source row.
    fn check_padded_source(&self, len: usize) {
        self.check_source(len);
        let last_col = self.out_w.next_multiple_of(8) - 1 + (self.kernel_w - 1) * self.dilation_w;
        assert!(
            last_col < self.cols,
            "few-channel kernel: padded source too narrow"
        );
    }
}

/// out[b] (out_h × out_w each, `count` planes) = bias[b] + Σ over the
/// `channels` source planes c and taps of w[b, c, tap] × shifted `src[c]`:
/// the forward pass of the output channels of one group.
fn forward_planes<T: Real>(
    level: Level,
    s: &Shape,
    channels: usize,
    src: &[T],
    w: &[T],
    bias: &[T],
    out: &mut [T],
) {
    let count = bias.len();
    let out_vol = s.out_h * s.out_w;
    let plane = s.rows * s.cols;
    assert!(w.len() == count * channels * s.taps() && out.len() == count * out_vol);
    assert!(channels >= 1 && src.len() >= channels * plane);
    s.check_source(plane);
    #[cfg(target_arch = "x86_64")]
    if use_avx2::<T>(level) {
        // SAFETY: T is f32 (use_avx2 checked it), and `level` says the CPU
        // has AVX2 and FMA (and AVX-512 F at that level); the sizes were
        // checked just above.
        unsafe {
            let (src, w, bias, out) = (as_f32(src), as_f32(w), as_f32(bias), as_f32_mut(out));
            if level >= Level::Avx512 {
                forward_simd::forward_planes_avx512(s, channels, src, w, bias, out);
            } else {
                forward_simd::forward_planes_avx2(s, channels, src, w, bias, out);
            }
        }
        return;
    }
    let _ = level;
    for ((w_b, &b), o_plane) in w
        .chunks_exact(channels * s.taps())
        .zip(bias)
        .zip(out.chunks_exact_mut(out_vol))
    {
        for (oh, o_row) in o_plane.chunks_exact_mut(s.out_w).enumerate() {
            o_row.fill(b);
            for (w_c, src_c) in w_b.chunks_exact(s.taps()).zip(src.chunks_exact(plane)) {
                for kh in 0..s.kernel_h {
                    let src_row =
                        &src_c[(oh * s.stride_h + kh * s.dilation_h) * s.cols..][..s.cols];
                    for kw in 0..s.kernel_w {
                        let v = w_c[kh * s.kernel_w + kw];
                        for (o, &x) in o_row.iter_mut().zip(&src_row[kw * s.dilation_w..]) {
                            *o = *o + v * x;
                        }
                    }
                }
            }
        }
    }
}

/// out (out_h × out_w) = Σ over planes c and taps w[c, tap] × shifted
/// src[c] (stride 1): the input gradient of one input channel.
fn sum_planes<T: Real>(level: Level, s: &Shape, src: &[T], w: &[T], out: &mut [T]) {
    let plane = s.rows * s.cols;
    let count = w.len() / s.taps().max(1);
    assert!(
        s.stride_h == 1
            && w.len() == count * s.taps()
            && src.len() == count * plane
            && out.len() == s.out_h * s.out_w
    );
    s.check_padded_source(plane);
    #[cfg(target_arch = "x86_64")]
    if use_avx2::<T>(level) {
        // SAFETY: T is f32 (use_avx2 checked it), and `level` says the CPU
        // has AVX2 and FMA; the sizes were checked just above.
        unsafe { avx2::sum_planes(s, as_f32(src), as_f32(w), as_f32_mut(out)) };
        return;
    }
    let _ = level;
    out.fill(zero::<T>());
    for (w_c, src_c) in w.chunks_exact(s.taps()).zip(src.chunks_exact(plane)) {
        for (oh, o_row) in out.chunks_exact_mut(s.out_w).enumerate() {
            for kh in s.live_taps(oh, 1) {
                let src_row = &src_c[(oh + kh * s.dilation_h) * s.cols..][..s.cols];
                for kw in 0..s.kernel_w {
                    let v = w_c[kh * s.kernel_w + kw];
                    for (o, &x) in o_row.iter_mut().zip(&src_row[kw * s.dilation_w..]) {
                        *o = *o + v * x;
                    }
                }
            }
        }
    }
}

/// dw[b, tap] = Σ over the samples n and output positions of
/// dy[n][b] × shifted src[n], for the `count` output channels of one
/// input channel. `src(n)` is sample n's source plane, `dy(n)` the
/// gradient planes of the channels (count × out_h × out_w).
fn weight_planes<'s, T: Real>(
    level: Level,
    s: &Shape,
    samples: usize,
    src: impl Fn(usize) -> &'s [T],
    dy: impl Fn(usize) -> &'s [T],
    dw: &mut [T],
) {
    let count = dw.len() / s.taps().max(1);
    let out_vol = s.out_h * s.out_w;
    assert_eq!(dw.len(), count * s.taps());
    for n in 0..samples {
        s.check_source(src(n).len());
        assert_eq!(dy(n).len(), count * out_vol);
    }
    #[cfg(target_arch = "x86_64")]
    if use_avx2::<T>(level) {
        // SAFETY: T is f32 (use_avx2 checked it), and `level` says the CPU
        // has AVX2 and FMA; the sizes were checked just above.
        unsafe {
            avx2::weight_planes(
                s,
                samples,
                |n| as_f32(src(n)),
                |n| as_f32(dy(n)),
                as_f32_mut(dw),
            );
        }
        return;
    }
    let _ = level;
    // Eight running sums per tap (a fixed order, and vectorisable).
    for (b, dw_c) in dw.chunks_exact_mut(s.taps()).enumerate() {
        for kh in 0..s.kernel_h {
            for kw in 0..s.kernel_w {
                let mut lanes = [zero::<T>(); 8];
                for n in 0..samples {
                    let (src_n, dy_n) = (src(n), &dy(n)[b * out_vol..][..out_vol]);
                    for (oh, dy_row) in dy_n.chunks_exact(s.out_w).enumerate() {
                        let r = oh * s.stride_h + kh * s.dilation_h;
                        let x_row = &src_n[r * s.cols + kw * s.dilation_w..][..s.out_w];
                        for (c, (&d, &x)) in dy_row.iter().zip(x_row).enumerate() {
                            lanes[c % 8] = lanes[c % 8] + d * x;
                        }
                    }
                }
                dw_c[kh * s.kernel_w + kw] = reduce_lanes(lanes);
            }
        }
    }
}

/// The lanes' total in a fixed pairwise order (the AVX2 kernel's order).
fn reduce_lanes<T: Real>(l: [T; 8]) -> T {
    let q = [l[0] + l[4], l[1] + l[5], l[2] + l[6], l[3] + l[7]];
    let p = [q[0] + q[2], q[1] + q[3]];
    p[0] + p[1]
}

/// The forward [`Shape`] of `g` over source planes of `rows × cols`.
fn forward_shape(g: &ConvGeometry, rows: usize, cols: usize) -> Shape {
    Shape {
        kernel_h: g.kernel[1],
        kernel_w: g.kernel[2],
        stride_h: g.stride[1],
        dilation_h: g.dilation[1],
        dilation_w: g.dilation[2],
        out_h: g.out_size[1],
        out_w: g.out_size[2],
        rows,
        cols,
        live_rows: (0, rows),
    }
}

/// out = conv(input, weight) + bias for a geometry where
/// [`forward_applies`]; padding follows `g.boundary`. Tasks are (sample,
/// group) pieces of the output, in parallel when `parallel`. Returns false,
/// with `out` untouched, when the padded input cannot be allocated.
pub fn forward<T: Real>(
    level: Level,
    g: &ConvGeometry,
    input: &[T],
    weight: &[T],
    bias: Option<&[T]>,
    out: &mut [T],
    parallel: bool,
) -> bool {
    let Some(planes) = padded_input(g, input, g.boundary, parallel) else {
        return false;
    };
    let shape = forward_shape(g, planes.rows, planes.cols);
    let (cig, cog) = (g.in_per_group(), g.out_per_group());
    let taps = shape.taps();
    let zeros = vec![zero::<T>(); cog];
    let out_vol = shape.out_h * shape.out_w;
    let task = |i: usize, first: usize, o: &mut [T]| {
        let (n, group) = (i / g.groups, i % g.groups);
        let oc = group * cog + first;
        let count = o.len() / out_vol.max(1);
        let b = bias.map_or(&zeros[..count], |b| &b[oc..oc + count]);
        // The group's input channels of sample n.
        let src = planes.planes(n * g.in_channels + group * cig, cig);
        forward_planes(
            level,
            &shape,
            cig,
            src,
            &weight[oc * cig * taps..][..count * cig * taps],
            b,
            o,
        );
    };
    channel_blocks(out, cog, out_vol, g.batch * g.groups, parallel, task);
    true
}

/// Runs `task(i, first, planes)` over `out` (tasks × `count` planes of
/// `plane` elements), each task's planes in blocks of channels `first ..`:
/// whole tasks when there are enough for the threads, else one block per
/// thread (multiples of 4, so the kernels' channel blocks stay full: 24
/// channels in blocks of 8 ran a batch-1 layer at two thirds of the speed
/// of two blocks of 12). Each output plane is one block's, summed in one
/// fixed order, so the split leaves the bits alone.
fn channel_blocks<T: Send>(
    out: &mut [T],
    count: usize,
    plane: usize,
    tasks: usize,
    parallel: bool,
    task: impl Fn(usize, usize, &mut [T]) + Sync,
) {
    let wanted = if parallel {
        rayon::current_num_threads().div_ceil(tasks.max(1))
    } else {
        1
    };
    let block = count.div_ceil(wanted).next_multiple_of(4).min(count).max(1);
    let piece = (count * plane).max(1);
    let part = (block * plane).max(1);
    if parallel {
        out.par_chunks_mut(piece).enumerate().for_each(|(i, o_ng)| {
            o_ng.par_chunks_mut(part)
                .enumerate()
                .for_each(|(j, o)| task(i, j * block, o));
        });
    } else {
        for (i, o_ng) in out.chunks_mut(piece).enumerate() {
            for (j, o) in o_ng.chunks_mut(part).enumerate() {
                task(i, j * block, o);
            }
        }
    }
}

/// grad_input of a geometry where [`input_grad_applies_simd`] (stride 1, zero
/// padding): per (sample, group), the group's output-gradient planes are
/// copied with a border of (K − 1)·D zeros, and the input gradient is
/// their correlation with the flipped kernels, summed over the channels.
/// Returns false, with `grad_input` untouched, when the padded copies of
/// several input channels per group cannot be allocated.
pub fn input_grad<T: Real>(
    level: Level,
    g: &ConvGeometry,
    weight: &[T],
    grad_output: &[T],
    grad_input: &mut [T],
    parallel: bool,
) -> bool {
    let [_, h, w] = g.in_size;
    let [_, kh_, kw_] = g.kernel;
    let [_, oh_, ow_] = g.out_size;
    let (dh, dw) = (g.dilation[1], g.dilation[2]);
    // Columns up to the width rounded up to whole vectors, so the kernel
    // reads whole vectors (the extra columns are zeros and their sums
    // are never stored).
    let rows = h + (kh_ - 1) * dh;
    let cols = w.next_multiple_of(8) + (kw_ - 1) * dw;
    let (cig, cog) = (g.in_per_group(), g.out_per_group());
    let taps = kh_ * kw_;
    // flipped[ic][oc][kh][kw] = weight[group·cog + oc][c][KH-1-kh][KW-1-kw]
    // for input channel ic = group·cig + c: each input channel's kernels
    // over its group's output channels, contiguous.
    let mut flipped: Vec<T> = Vec::with_capacity(weight.len());
    for ic in 0..g.in_channels {
        let (group, c) = (ic / cig, ic % cig);
        for oc in group * cog..(group + 1) * cog {
            let w_c = &weight[(oc * cig + c) * taps..][..taps];
            flipped.extend(w_c.iter().rev().copied());
        }
    }
    let shape = Shape {
        kernel_h: kh_,
        kernel_w: kw_,
        stride_h: 1,
        dilation_h: dh,
        dilation_w: dw,
        out_h: h,
        out_w: w,
        rows,
        cols,
        live_rows: (0, rows),
    };
    // Source row r holds grad_output row r − (KH−1)·DH + pad (zero outside).
    let row_src: Vec<Option<usize>> = (0..rows)
        .map(|r| {
            (r + g.pad_before[1])
                .checked_sub((kh_ - 1) * dh)
                .filter(|&s| s < oh_)
        })
        .collect();
    let live_lo = row_src.iter().position(Option::is_some).unwrap_or(0);
    let live_hi = row_src
        .iter()
        .rposition(Option::is_some)
        .map_or(0, |r| r + 1);
    let shape = Shape {
        live_rows: (live_lo, live_hi.max(live_lo)),
        ..shape
    };
    // Source column c holds grad_output column c − (KW−1)·DW + pad: the
    // columns [lo, hi) of each row come from grad_output, the rest are 0.
    let shift = ((kw_ - 1) * dw) as isize - g.pad_before[2] as isize;
    let lo = shift.clamp(0, cols as isize) as usize;
    let hi = (shift + ow_ as isize).clamp(lo as isize, cols as isize) as usize;
    let first = (lo as isize - shift).max(0) as usize;
    // Copies the output-gradient planes `dy` (count × OH × OW) into
    // `padded` (count × rows × cols), whose zero border is already there.
    let pad_planes = |dy_ng: &[T], padded: &mut [T]| {
        if hi > lo {
            for (q, dy) in padded
                .chunks_exact_mut(rows * cols)
                .zip(dy_ng.chunks_exact(oh_ * ow_))
            {
                for (q_row, src) in q.chunks_exact_mut(cols).zip(&row_src) {
                    if let Some(s) = *src {
                        q_row[lo..hi].copy_from_slice(&dy[s * ow_ + first..][..hi - lo]);
                    }
                }
            }
        }
    };
    let plane = h * w;
    if cig > 1 {
        // Every input channel of a group reads the same padded planes:
        // they are made once, for the whole batch. Then the adjoint is the
        // forward kernel run on them (the group's output channels are its
        // input channels, the flipped kernels its weights), in blocks of
        // input channels.
        let q_len = rows * cols;
        let Ok(mut padded) =
            crate::buffer::try_filled(g.batch * g.out_channels * q_len, zero::<T>())
        else {
            return false;
        };
        let fill = |(p, q): (usize, &mut [T])| {
            pad_planes(&grad_output[p * oh_ * ow_..][..oh_ * ow_], q);
        };
        if parallel {
            padded
                .par_chunks_mut(q_len.max(1))
                .enumerate()
                .for_each(fill);
        } else {
            padded.chunks_mut(q_len.max(1)).enumerate().for_each(fill);
        }
        let zeros = vec![zero::<T>(); cig];
        let dx_task = |i: usize, first: usize, dx: &mut [T]| {
            let (n, group) = (i / g.groups, i % g.groups);
            let count = dx.len() / plane.max(1);
            let ic = group * cig + first;
            let src = &padded[(n * g.out_channels + group * cog) * q_len..][..cog * q_len];
            let w_b = &flipped[ic * cog * taps..][..count * cog * taps];
            forward_planes(level, &shape, cog, src, w_b, &zeros[..count], dx);
        };
        channel_blocks(
            grad_input,
            cig,
            plane,
            g.batch * g.groups,
            parallel,
            dx_task,
        );
        return true;
    }
    let task = |i: usize, dx: &mut [T], padded: &mut Vec<T>| {
        let dy_ng = &grad_output[i * cog * oh_ * ow_..][..cog * oh_ * ow_];
        // The zero border is the same for every sample: it is written
        // when the buffer is made, and each sample rewrites only the
        // grad_output part.
        if padded.len() != cog * rows * cols {
            padded.clear();
            padded.resize(cog * rows * cols, zero::<T>());
        }
        pad_planes(dy_ng, padded);
        // One input channel per group: plane i is input channel i % C_in.
        let ic = i % g.in_channels;
        sum_planes(
            level,
            &shape,
            padded,
            &flipped[ic * cog * taps..][..cog * taps],
            dx,
        );
    };
    if parallel {
        grad_input
            .par_chunks_mut(plane)
            .enumerate()
            .for_each_init(Vec::new, |buf, (i, p)| task(i, p, buf));
    } else {
        let mut buf = Vec::new();
        grad_input
            .chunks_mut(plane)
            .enumerate()
            .for_each(|(i, p)| task(i, p, &mut buf));
    }
    true
}

/// Output channels per weight-gradient task: a few, so that a batch of
/// one still gives every thread work, each task summing over the whole
/// batch (which fixes the order of every sum).
const WEIGHT_TASK_CHANNELS: usize = 4;

/// grad_weight of a geometry where [`applies`] (zero padding). Each task
/// owns a few output channels and sums over the whole batch in order, so
/// the result is the same for every thread count. Returns false, with
/// `grad_weight` untouched, when the padded input cannot be allocated.
pub fn weight_grad<T: Real>(
    level: Level,
    g: &ConvGeometry,
    input: &[T],
    grad_output: &[T],
    grad_weight: &mut [T],
    parallel: bool,
) -> bool {
    let Some(planes) = padded_input(g, input, Boundary::Constant, parallel) else {
        return false;
    };
    let shape = forward_shape(g, planes.rows, planes.cols);
    let (cig, cog) = (g.in_per_group(), g.out_per_group());
    let taps = shape.taps();
    let out_vol = shape.out_h * shape.out_w;
    // The kernel writes the taps of consecutive output channels for one
    // input channel: [group][c][oc][tap], which is grad_weight's own order
    // when each group has one input channel, and is transposed into it
    // otherwise.
    let mut by_input = Vec::new();
    if cig > 1 {
        let Ok(buffer) = crate::buffer::try_filled(grad_weight.len(), zero::<T>()) else {
            return false;
        };
        by_input = buffer;
    }
    let sums: &mut [T] = if cig == 1 { grad_weight } else { &mut by_input };
    // (group, input channel within it, first output channel, its sums).
    let mut tasks: Vec<(usize, usize, usize, &mut [T])> = Vec::new();
    for (gc, dw_c) in sums.chunks_mut(cog * taps).enumerate() {
        for (j, dw_t) in dw_c.chunks_mut(WEIGHT_TASK_CHANNELS * taps).enumerate() {
            tasks.push((gc / cig, gc % cig, j * WEIGHT_TASK_CHANNELS, dw_t));
        }
    }
    let run = |(group, c, first, dw_t): (usize, usize, usize, &mut [T])| {
        let count = dw_t.len() / taps;
        weight_planes(
            level,
            &shape,
            g.batch,
            |n| planes.plane(n * g.in_channels + group * cig + c),
            |n| {
                let oc = group * cog + first;
                &grad_output[(n * g.out_channels + oc) * out_vol..][..count * out_vol]
            },
            dw_t,
        );
    };
    if parallel {
        tasks.into_par_iter().for_each(run);
    } else {
        tasks.into_iter().for_each(run);
    }
    if cig > 1 {
        for (gc, dw_c) in by_input.chunks_exact(cog * taps).enumerate() {
            let (group, c) = (gc / cig, gc % cig);
            for (oc, taps_oc) in dw_c.chunks_exact(taps).enumerate() {
                let at = ((group * cog + oc) * cig + c) * taps;
                grad_weight[at..at + taps].copy_from_slice(taps_oc);
            }
        }
    }
    true
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The float32 kernels with AVX2 + FMA intrinsics. Every function
    //! requires a CPU with AVX2 and FMA and the sizes its portable twin
    //! asserts.

    use super::Shape;
    use std::arch::x86_64::*;

    /// Lane masks for the first 0..=8 lanes.
    #[inline(always)]
    pub(super) unsafe fn mask(lanes: usize) -> __m256i {
        const M: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];
        // SAFETY: lanes ≤ 8, so the 8 elements read are inside M.
        unsafe { _mm256_loadu_si256(M.as_ptr().add(8 - lanes).cast()) }
    }

    /// Loads 8 floats at `p`, or only the mask's lanes (the others read as
    /// zero and touch no memory).
    #[inline(always)]
    unsafe fn load<const MASKED: bool>(p: *const f32, m: __m256i) -> __m256 {
        // SAFETY: the caller guarantees the (masked) lanes are readable.
        unsafe {
            if MASKED {
                _mm256_maskload_ps(p, m)
            } else {
                _mm256_loadu_ps(p)
            }
        }
    }

    #[inline(always)]
    unsafe fn store<const MASKED: bool>(p: *mut f32, m: __m256i, v: __m256) {
        // SAFETY: the caller guarantees the (masked) lanes are writable.
        unsafe {
            if MASKED {
                _mm256_maskstore_ps(p, m, v)
            } else {
                _mm256_storeu_ps(p, v)
            }
        }
    }

    /// R output rows × V vectors at (row o0, column col), summed over every
    /// source plane and tap (stride 1). The source planes have readable
    /// columns up to the output width rounded up to 8 (see
    /// Shape::check_padded_source), so only the store of a partial last
    /// vector is masked.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn sum_strip<const R: usize, const V: usize, const MASKED: bool>(
        s: &Shape,
        planes: usize,
        src: *const f32,
        w: *const f32,
        out: *mut f32,
        o0: usize,
        col: usize,
        m: __m256i,
        first: bool,
    ) {
        let taps = s.taps();
        let plane = s.rows * s.cols;
        // SAFETY: (whole body) as in forward_simd::forward_strip, for each of the planes,
        // with every lane of every load inside (check_padded_source).
        unsafe {
            let mut acc = [[_mm256_setzero_ps(); V]; R];
            if !first {
                // The partial sums of the earlier planes (exact in memory,
                // so the order of the sum is that of one pass).
                for (j, acc_j) in acc.iter_mut().enumerate() {
                    let o = out.add((o0 + j) * s.out_w + col);
                    for (v, a) in acc_j.iter_mut().enumerate() {
                        *a = if v + 1 == V {
                            load::<MASKED>(o.add(8 * v), m)
                        } else {
                            _mm256_loadu_ps(o.add(8 * v))
                        };
                    }
                }
            }
            let live = s.live_taps(o0, R);
            for c in 0..planes {
                let src_c = src.add(c * plane);
                let w_c = w.add(c * taps);
                for kh in live.clone() {
                    for kw in 0..s.kernel_w {
                        let wv = _mm256_broadcast_ss(&*w_c.add(kh * s.kernel_w + kw));
                        for (j, acc_j) in acc.iter_mut().enumerate() {
                            let p = src_c.add(
                                (o0 + j + kh * s.dilation_h) * s.cols + col + kw * s.dilation_w,
                            );
                            for (v, a) in acc_j.iter_mut().enumerate() {
                                let x = _mm256_loadu_ps(p.add(8 * v));
                                *a = _mm256_fmadd_ps(wv, x, *a);
                            }
                        }
                    }
                }
            }
            for (j, acc_j) in acc.iter().enumerate() {
                let o = out.add((o0 + j) * s.out_w + col);
                for (v, &a) in acc_j.iter().enumerate() {
                    if v + 1 == V {
                        store::<MASKED>(o.add(8 * v), m, a);
                    } else {
                        _mm256_storeu_ps(o.add(8 * v), a);
                    }
                }
            }
        }
    }

    /// R rows starting at o0: strips of 4 vectors, then the tail as one
    /// strip of 1–4 vectors whose last is masked.
    #[inline(always)]
    unsafe fn sum_rows<const R: usize>(
        s: &Shape,
        planes: usize,
        src: *const f32,
        w: *const f32,
        out: *mut f32,
        o0: usize,
        first: bool,
    ) {
        // SAFETY: see sum_strip; every strip stays inside the row.
        unsafe {
            let full = _mm256_setzero_si256();
            let mut col = 0;
            while col + 32 <= s.out_w {
                sum_strip::<R, 4, false>(s, planes, src, w, out, o0, col, full, first);
                col += 32;
            }
            let rest = s.out_w - col;
            if rest == 0 {
                return;
            }
            let vectors = rest.div_ceil(8);
            let lanes = rest - 8 * (vectors - 1);
            let m = mask(lanes);
            match (vectors, lanes == 8) {
                (1, true) => sum_strip::<R, 1, false>(s, planes, src, w, out, o0, col, m, first),
                (1, false) => sum_strip::<R, 1, true>(s, planes, src, w, out, o0, col, m, first),
                (2, true) => sum_strip::<R, 2, false>(s, planes, src, w, out, o0, col, m, first),
                (2, false) => sum_strip::<R, 2, true>(s, planes, src, w, out, o0, col, m, first),
                (3, true) => sum_strip::<R, 3, false>(s, planes, src, w, out, o0, col, m, first),
                (3, false) => sum_strip::<R, 3, true>(s, planes, src, w, out, o0, col, m, first),
                (_, true) => sum_strip::<R, 4, false>(s, planes, src, w, out, o0, col, m, first),
                (_, false) => sum_strip::<R, 4, true>(s, planes, src, w, out, o0, col, m, first),
            }
        }
    }

    /// Source planes summed per pass over the output: the rows a block of
    /// output rows reads from 8 planes stay in the L1 cache, where those
    /// of all 32 planes of the MNIST layer's gradient (6 rows × 36
    /// columns each, 28 KiB) did not.
    const PLANE_CHUNK: usize = 8;

    /// See `super::sum_planes`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn sum_planes(s: &Shape, src: &[f32], w: &[f32], out: &mut [f32]) {
        let planes = w.len() / s.taps();
        let (src, w, out) = (src.as_ptr(), w.as_ptr(), out.as_mut_ptr());
        // SAFETY: the caller checked the sizes; rows o0 .. o0 + R < out_h,
        // planes c0 .. c0 + chunk ≤ planes.
        unsafe {
            for c0 in (0..planes).step_by(PLANE_CHUNK) {
                let chunk = PLANE_CHUNK.min(planes - c0);
                let src = src.add(c0 * s.rows * s.cols);
                let w = w.add(c0 * s.taps());
                let first = c0 == 0;
                let mut o0 = 0;
                while o0 + 2 <= s.out_h {
                    sum_rows::<2>(s, chunk, src, w, out, o0, first);
                    o0 += 2;
                }
                if o0 < s.out_h {
                    sum_rows::<1>(s, chunk, src, w, out, o0, first);
                }
            }
        }
    }

    /// One vector of columns at `col` of one row: B gradient vectors times
    /// K shifted input vectors.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn weight_step<const B: usize, const K: usize, const MASKED: bool>(
        s: &Shape,
        x_row: *const f32,
        d_row: *const f32,
        col: usize,
        kw0: usize,
        m: __m256i,
        acc: &mut [[__m256; K]; B],
    ) {
        let out_vol = s.out_h * s.out_w;
        // SAFETY: see weight_taps.
        unsafe {
            let mut ds = [_mm256_setzero_ps(); B];
            for (b, dv) in ds.iter_mut().enumerate() {
                *dv = load::<MASKED>(d_row.add(b * out_vol + col), m);
            }
            for k in 0..K {
                let xv = load::<MASKED>(x_row.add(col + (kw0 + k) * s.dilation_w), m);
                for (acc_b, &dv) in acc.iter_mut().zip(&ds) {
                    acc_b[k] = _mm256_fmadd_ps(dv, xv, acc_b[k]);
                }
            }
        }
    }

    /// Sums, for B channels and K taps kw0 .. kw0 + K of kernel row kh, the
    /// products over every sample, row and column into `acc`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn weight_taps<'s, const B: usize, const K: usize>(
        s: &Shape,
        samples: usize,
        src: &impl Fn(usize) -> &'s [f32],
        dy: &impl Fn(usize) -> &'s [f32],
        c0: usize,
        kh: usize,
        kw0: usize,
    ) -> [[__m256; K]; B] {
        let out_vol = s.out_h * s.out_w;
        let full_vectors = s.out_w / 8;
        let tail = s.out_w % 8;
        // SAFETY: (whole body) the caller checked each sample's source and
        // gradient planes (Shape::check_source, count channels of dy); the
        // tail vector reads only its lanes (masked loads, zero elsewhere,
        // so no 0 × inf from a neighbouring column).
        unsafe {
            let m = mask(tail);
            let mut acc = [[_mm256_setzero_ps(); K]; B];
            for n in 0..samples {
                let (x, d) = (src(n).as_ptr(), dy(n).as_ptr().add(c0 * out_vol));
                for oh in 0..s.out_h {
                    let x_row = x.add((oh * s.stride_h + kh * s.dilation_h) * s.cols);
                    let d_row = d.add(oh * s.out_w);
                    for v in 0..full_vectors {
                        weight_step::<B, K, false>(s, x_row, d_row, 8 * v, kw0, m, &mut acc);
                    }
                    if tail > 0 {
                        weight_step::<B, K, true>(
                            s,
                            x_row,
                            d_row,
                            8 * full_vectors,
                            kw0,
                            m,
                            &mut acc,
                        );
                    }
                }
            }
            acc
        }
    }

    /// The lanes' total in super::reduce_lanes' order.
    #[inline(always)]
    unsafe fn reduce(v: __m256) -> f32 {
        // SAFETY: register-only intrinsics (AVX available, see callers).
        unsafe {
            let q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
            // [q0 + q2, q1 + q3, ..]
            let p = _mm_add_ps(q, _mm_movehl_ps(q, q));
            let t = _mm_add_ss(p, _mm_shuffle_ps(p, p, 1));
            _mm_cvtss_f32(t)
        }
    }

    #[inline(always)]
    unsafe fn weight_block<'s, const B: usize>(
        s: &Shape,
        samples: usize,
        src: &impl Fn(usize) -> &'s [f32],
        dy: &impl Fn(usize) -> &'s [f32],
        c0: usize,
        dw: &mut [f32],
    ) {
        let taps = s.taps();
        // SAFETY: see weight_taps; dw holds channels c0 .. c0 + B.
        unsafe {
            for kh in 0..s.kernel_h {
                // Taps of the row in chunks of at most 5 (10 accumulators
                // with B = 2), as even as possible: 5 = 5, 7 = 4 + 3.
                let chunks = s.kernel_w.div_ceil(5);
                let mut kw0 = 0;
                for chunk in 0..chunks {
                    let k = (chunk + 1) * s.kernel_w / chunks - chunk * s.kernel_w / chunks;
                    macro_rules! taps_of {
                        ($k:literal) => {{
                            let acc = weight_taps::<B, $k>(s, samples, src, dy, c0, kh, kw0);
                            for (b, acc_b) in acc.iter().enumerate() {
                                for (j, &a) in acc_b.iter().enumerate() {
                                    dw[(c0 + b) * taps + kh * s.kernel_w + kw0 + j] = reduce(a);
                                }
                            }
                        }};
                    }
                    match k {
                        1 => taps_of!(1),
                        2 => taps_of!(2),
                        3 => taps_of!(3),
                        4 => taps_of!(4),
                        _ => taps_of!(5),
                    }
                    kw0 += k;
                }
            }
        }
    }

    /// See `super::weight_planes`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn weight_planes<'s>(
        s: &Shape,
        samples: usize,
        src: impl Fn(usize) -> &'s [f32],
        dy: impl Fn(usize) -> &'s [f32],
        dw: &mut [f32],
    ) {
        let count = dw.len() / s.taps();
        let mut c = 0;
        // SAFETY: the caller checked the sizes (see weight_taps).
        unsafe {
            while c + 2 <= count {
                weight_block::<2>(s, samples, &src, &dy, c, dw);
                c += 2;
            }
            if c < count {
                weight_block::<1>(s, samples, &src, &dy, c, dw);
            }
        }
    }
}

/// The float32 forward kernel, written once over the vector width: B
/// output channels × V vectors of one output row in registers, the taps'
/// weights broadcast, one fused multiply-add per tap in (kh, kw) order, so
/// the AVX2 and AVX-512 instances give the same bits.
#[cfg(target_arch = "x86_64")]
mod forward_simd {
    use super::Shape;
    use std::arch::x86_64::*;

    /// One vector type's operations. Every method needs the CPU features
    /// of its `#[target_feature]` entry point below, into which it inlines.
    pub(super) trait Lanes: Copy {
        const LANES: usize;
        type Mask: Copy;
        /// The first `lanes` (1..=LANES) lanes.
        unsafe fn mask(lanes: usize) -> Self::Mask;
        unsafe fn splat(x: f32) -> Self;
        unsafe fn load(p: *const f32) -> Self;
        /// Only the mask's lanes (the others read as zero, touching no memory).
        unsafe fn load_masked(p: *const f32, m: Self::Mask) -> Self;
        unsafe fn store(p: *mut f32, v: Self);
        unsafe fn store_masked(p: *mut f32, m: Self::Mask, v: Self);
        /// a · b + c, rounded once.
        unsafe fn fma(a: Self, b: Self, c: Self) -> Self;
    }

    #[derive(Clone, Copy)]
    pub(super) struct Avx2(__m256);

    impl Lanes for Avx2 {
        const LANES: usize = 8;
        type Mask = __m256i;
        #[inline(always)]
        unsafe fn mask(lanes: usize) -> __m256i {
            // SAFETY: lanes ≤ 8 (the caller's contract).
            unsafe { super::avx2::mask(lanes) }
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> Self {
            // SAFETY: AVX2 (this trait's contract).
            Avx2(unsafe { _mm256_set1_ps(x) })
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: 8 readable floats (the caller's contract).
            Avx2(unsafe { _mm256_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn load_masked(p: *const f32, m: __m256i) -> Self {
            // SAFETY: the mask's lanes are readable (the caller's contract).
            Avx2(unsafe { _mm256_maskload_ps(p, m) })
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: Self) {
            // SAFETY: 8 writable floats (the caller's contract).
            unsafe { _mm256_storeu_ps(p, v.0) }
        }
        #[inline(always)]
        unsafe fn store_masked(p: *mut f32, m: __m256i, v: Self) {
            // SAFETY: the mask's lanes are writable (the caller's contract).
            unsafe { _mm256_maskstore_ps(p, m, v.0) }
        }
        #[inline(always)]
        unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
            // SAFETY: FMA (this trait's contract).
            Avx2(unsafe { _mm256_fmadd_ps(a.0, b.0, c.0) })
        }
    }

    #[derive(Clone, Copy)]
    pub(super) struct Avx512(__m512);

    impl Lanes for Avx512 {
        const LANES: usize = 16;
        type Mask = __mmask16;
        #[inline(always)]
        unsafe fn mask(lanes: usize) -> __mmask16 {
            if lanes >= 16 { !0 } else { (1 << lanes) - 1 }
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> Self {
            // SAFETY: AVX-512 F (this trait's contract).
            Avx512(unsafe { _mm512_set1_ps(x) })
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: 16 readable floats (the caller's contract).
            Avx512(unsafe { _mm512_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn load_masked(p: *const f32, m: __mmask16) -> Self {
            // SAFETY: the mask's lanes are readable; masked lanes fault not.
            Avx512(unsafe { _mm512_maskz_loadu_ps(m, p) })
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: Self) {
            // SAFETY: 16 writable floats (the caller's contract).
            unsafe { _mm512_storeu_ps(p, v.0) }
        }
        #[inline(always)]
        unsafe fn store_masked(p: *mut f32, m: __mmask16, v: Self) {
            // SAFETY: the mask's lanes are writable (the caller's contract).
            unsafe { _mm512_mask_storeu_ps(p, m, v.0) }
        }
        #[inline(always)]
        unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
            // SAFETY: AVX-512 F (this trait's contract).
            Avx512(unsafe { _mm512_fmadd_ps(a.0, b.0, c.0) })
        }
    }

    /// B output channels × V vectors at output (row oh, column col); the
    /// last vector has only the mask's lanes when MASKED.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn forward_strip<L: Lanes, const B: usize, const V: usize, const MASKED: bool>(
        s: &Shape,
        channels: usize,
        src: *const f32,
        w: *const f32,
        bias: *const f32,
        out: *mut f32,
        oh: usize,
        col: usize,
        m: L::Mask,
    ) {
        let taps = s.taps();
        let (plane, w_stride) = (s.rows * s.cols, channels * taps);
        let out_vol = s.out_h * s.out_w;
        let lanes = L::LANES;
        // SAFETY: (whole body) the caller checked every tap of every output
        // of a plane stays inside it (Shape::check_source), that src holds
        // `channels` planes and that w, bias and out hold B channels; the
        // last vector's lanes past the row are masked off (neither read nor
        // written) when MASKED.
        unsafe {
            let mut acc: [[L; V]; B] = std::array::from_fn(|b| [L::splat(*bias.add(b)); V]);
            for c in 0..channels {
                let (src_c, w_c) = (src.add(c * plane), w.add(c * taps));
                for kh in 0..s.kernel_h {
                    let row = src_c.add((oh * s.stride_h + kh * s.dilation_h) * s.cols + col);
                    let w_row = w_c.add(kh * s.kernel_w);
                    for kw in 0..s.kernel_w {
                        let p = row.add(kw * s.dilation_w);
                        let xs: [L; V] = std::array::from_fn(|v| {
                            if MASKED && v + 1 == V {
                                L::load_masked(p.add(lanes * v), m)
                            } else {
                                L::load(p.add(lanes * v))
                            }
                        });
                        for (b, acc_b) in acc.iter_mut().enumerate() {
                            let wv = L::splat(*w_row.add(b * w_stride + kw));
                            for (a, &x) in acc_b.iter_mut().zip(&xs) {
                                *a = L::fma(wv, x, *a);
                            }
                        }
                    }
                }
            }
            for (b, acc_b) in acc.iter().enumerate() {
                let o = out.add(b * out_vol + oh * s.out_w + col);
                for (v, &a) in acc_b.iter().enumerate() {
                    if MASKED && v + 1 == V {
                        L::store_masked(o.add(lanes * v), m, a);
                    } else {
                        L::store(o.add(lanes * v), a);
                    }
                }
            }
        }
    }

    /// Every output row of B channels: strips of VMAX (2 or 3) vectors,
    /// then the rest as one strip of 1 to VMAX vectors whose last is masked
    /// when partial.
    #[inline(always)]
    unsafe fn forward_block<L: Lanes, const B: usize, const VMAX: usize>(
        s: &Shape,
        channels: usize,
        src: *const f32,
        w: *const f32,
        bias: *const f32,
        out: *mut f32,
    ) {
        let lanes = L::LANES;
        // SAFETY: see forward_strip; every strip stays inside the row.
        unsafe {
            let full = L::mask(lanes);
            for oh in 0..s.out_h {
                let mut col = 0;
                while col + VMAX * lanes <= s.out_w {
                    forward_strip::<L, B, VMAX, false>(
                        s, channels, src, w, bias, out, oh, col, full,
                    );
                    col += VMAX * lanes;
                }
                let rest = s.out_w - col;
                if rest == 0 {
                    continue;
                }
                // rest < VMAX · lanes: at most VMAX vectors.
                let vectors = rest.div_ceil(lanes);
                let partial = !rest.is_multiple_of(lanes);
                let m = L::mask(rest - lanes * (vectors - 1));
                match (vectors, partial) {
                    (1, false) => {
                        forward_strip::<L, B, 1, false>(s, channels, src, w, bias, out, oh, col, m)
                    }
                    (1, true) => {
                        forward_strip::<L, B, 1, true>(s, channels, src, w, bias, out, oh, col, m)
                    }
                    (2, false) => {
                        forward_strip::<L, B, 2, false>(s, channels, src, w, bias, out, oh, col, m)
                    }
                    (2, true) => {
                        forward_strip::<L, B, 2, true>(s, channels, src, w, bias, out, oh, col, m)
                    }
                    (_, false) => {
                        forward_strip::<L, B, 3, false>(s, channels, src, w, bias, out, oh, col, m)
                    }
                    (_, true) => {
                        forward_strip::<L, B, 3, true>(s, channels, src, w, bias, out, oh, col, m)
                    }
                }
            }
        }
    }

    /// See `super::forward_planes`: blocks of BMAX channels × VMAX
    /// vectors, then 4, 2 and 1 channels for the rest.
    #[inline(always)]
    unsafe fn forward_planes<L: Lanes, const BMAX: usize, const VMAX: usize>(
        s: &Shape,
        channels: usize,
        src: &[f32],
        w: &[f32],
        bias: &[f32],
        out: &mut [f32],
    ) {
        let count = bias.len();
        let taps = channels * s.taps();
        let out_vol = s.out_h * s.out_w;
        let (src, w, bias, out) = (src.as_ptr(), w.as_ptr(), bias.as_ptr(), out.as_mut_ptr());
        let mut c = 0;
        // SAFETY: the caller checked the sizes (see forward_strip); each
        // block reads channels c .. c + B ≤ count.
        unsafe {
            let at = |c: usize| (w.add(c * taps), bias.add(c), out.add(c * out_vol));
            while c + BMAX <= count {
                let (w, b, o) = at(c);
                forward_block::<L, BMAX, VMAX>(s, channels, src, w, b, o);
                c += BMAX;
            }
            if c + 4 <= count {
                let (w, b, o) = at(c);
                forward_block::<L, 4, VMAX>(s, channels, src, w, b, o);
                c += 4;
            }
            if c + 2 <= count {
                let (w, b, o) = at(c);
                forward_block::<L, 2, VMAX>(s, channels, src, w, b, o);
                c += 2;
            }
            if c < count {
                let (w, b, o) = at(c);
                forward_block::<L, 1, VMAX>(s, channels, src, w, b, o);
            }
        }
    }

    /// AVX2 + FMA: 3 channels × 3 vectors of 8, 9 accumulators that cover
    /// the FMA latency (4 cycles × 2 units) and, with the 3 input vectors
    /// and a broadcast, fit the 16 registers (4 × 3 spilled).
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA; the sizes as `super::forward_planes`
    /// asserts them.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn forward_planes_avx2(
        s: &Shape,
        channels: usize,
        src: &[f32],
        w: &[f32],
        bias: &[f32],
        out: &mut [f32],
    ) {
        // SAFETY: this fn's contract.
        unsafe { forward_planes::<Avx2, 3, 3>(s, channels, src, w, bias, out) }
    }

    /// AVX-512 F: 8 channels × 2 vectors of 16, 16 accumulators in the 32
    /// registers.
    ///
    /// # Safety
    /// The CPU must have AVX-512 F and FMA; the sizes as
    /// `super::forward_planes` asserts them.
    #[target_feature(enable = "avx512f,fma")]
    pub(super) unsafe fn forward_planes_avx512(
        s: &Shape,
        channels: usize,
        src: &[f32],
        w: &[f32],
        bias: &[f32],
        out: &mut [f32],
    ) {
        // SAFETY: this fn's contract.
        unsafe { forward_planes::<Avx512, 8, 2>(s, channels, src, w, bias, out) }
    }
}
