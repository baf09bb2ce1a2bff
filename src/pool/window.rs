//! Max, average and Lp pooling over fixed windows, forward and backward.
//!
//! Forward kernels compute one output row (all `ow` of one `(plane, od, oh)`)
//! at a time, tap by tap: for each tap `(kd, kh, kw)` the outputs whose tap
//! lies inside the input read a contiguous input row with step `S`, so the
//! inner loop is a plain strided sweep the compiler vectorises, and borders
//! need no special code (a tap simply covers fewer outputs). Taps are visited
//! in row-major order, which is the order torch scans each window in, so
//! ties, NaN handling and rounding of sums agree with it.
//!
//! Backward kernels scatter per plane: one task owns an input plane and adds
//! the contributions of its outputs in a fixed order, so the result does not
//! depend on the thread count.

use super::LpNorm;
use super::params::PoolGeometry;
use crate::buffer::init_fill;
use crate::element::{Element, Real};
use crate::simd::Level;
use crate::threads::split;
use rayon::prelude::*;
use std::any::TypeId;
use std::mem::MaybeUninit;

#[cfg(target_arch = "x86_64")]
mod avx2;

/// A row kernel: computes output row `r` into `out`. Kernels are structs
/// with an `#[inline(always)]` method rather than closures so that the AVX2
/// entry point below really compiles the whole row (a closure would be
/// called, not inlined, and keep the baseline instruction set).
pub(crate) trait Row<T>: Sync {
    fn row(&self, r: usize, out: &mut [T]);
}

/// Any closure is a row kernel (without the AVX2 guarantee).
pub(crate) struct FnRow<F>(pub F);

impl<T, F: Fn(usize, &mut [T]) + Sync> Row<T> for FnRow<F> {
    #[inline(always)]
    fn row(&self, r: usize, out: &mut [T]) {
        (self.0)(r, out);
    }
}

/// Each row of `chunk` is written with zeros just before its kernel runs,
/// while it is in this core's cache, so the caller's buffer needs no
/// zeroing pass of its own (a serial memset of the whole output, measured
/// at 11–36 % of a pooling call).
#[inline(always)]
fn rows_plain<T: Element, K: Row<T>>(
    first: usize,
    chunk: &mut [MaybeUninit<T>],
    row_len: usize,
    kernel: &K,
) {
    for (i, row) in chunk.chunks_mut(row_len).enumerate() {
        kernel.row(first + i, init_fill(row, T::zero()));
    }
}

/// [`rows_plain`] compiled for AVX2 + FMA. Only the instruction set
/// differs: no fused multiply-add is introduced (Rust never contracts
/// `a * b + c`), so the results are bitwise those of the plain path.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_avx2<T: Element, K: Row<T>>(
    first: usize,
    chunk: &mut [MaybeUninit<T>],
    row_len: usize,
    kernel: &K,
) {
    rows_plain(first, chunk, row_len, kernel);
}

#[inline]
fn rows<T: Element, K: Row<T>>(
    level: Level,
    first: usize,
    chunk: &mut [MaybeUninit<T>],
    row_len: usize,
    kernel: &K,
) {
    #[cfg(target_arch = "x86_64")]
    if level >= Level::Avx2Fma {
        // SAFETY: `level` comes from `simd::level()` (or a test asking for a
        // level at most that), which detected AVX2 and FMA on this CPU.
        unsafe { rows_avx2(first, chunk, row_len, kernel) };
        return;
    }
    let _ = level;
    rows_plain(first, chunk, row_len, kernel);
}

/// Runs `kernel` on each output row of length `row_len`, in parallel over
/// chunks of rows when `parallel`, with the widest instruction set `level`
/// allows; every element of `out` is written (each row is zeroed before
/// its kernel runs). Rows are independent, so neither the split nor the
/// level affects the result.
pub(crate) fn for_each_row<T: Element, K: Row<T>>(
    out: &mut [MaybeUninit<T>],
    row_len: usize,
    parallel: bool,
    level: Level,
    kernel: &K,
) {
    if row_len == 0 || out.is_empty() {
        return;
    }
    if parallel {
        let count = out.len() / row_len;
        let per_task = count.div_ceil(rayon::current_num_threads() * 8).max(1);
        out.par_chunks_mut(per_task * row_len)
            .enumerate()
            .for_each(|(task, chunk)| rows(level, task * per_task, chunk, row_len, kernel));
    } else {
        rows(level, 0, out, row_len, kernel);
    }
}

/// A row kernel with a second output (the max-pool indices).
pub(crate) trait PairRow<T, U>: Sync {
    fn row(&self, r: usize, out: &mut [T], other: &mut [U]);
}

/// Any closure is a pair row kernel (without the AVX2 guarantee).
pub(crate) struct FnPairRow<F>(pub F);

impl<T, U, F: Fn(usize, &mut [T], &mut [U]) + Sync> PairRow<T, U> for FnPairRow<F> {
    #[inline(always)]
    fn row(&self, r: usize, out: &mut [T], other: &mut [U]) {
        (self.0)(r, out, other);
    }
}

/// [`rows_plain`] with a second output, zeroed row by row the same way.
#[inline(always)]
fn pair_rows_plain<T: Element, U: Element, K: PairRow<T, U>>(
    first: usize,
    chunk: &mut [MaybeUninit<T>],
    other: &mut [MaybeUninit<U>],
    row_len: usize,
    kernel: &K,
) {
    for (i, (row, other_row)) in chunk
        .chunks_mut(row_len)
        .zip(other.chunks_mut(row_len))
        .enumerate()
    {
        kernel.row(
            first + i,
            init_fill(row, T::zero()),
            init_fill(other_row, U::zero()),
        );
    }
}

/// [`pair_rows_plain`] compiled for AVX2 + FMA (see [`rows_avx2`]).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn pair_rows_avx2<T: Element, U: Element, K: PairRow<T, U>>(
    first: usize,
    chunk: &mut [MaybeUninit<T>],
    other: &mut [MaybeUninit<U>],
    row_len: usize,
    kernel: &K,
) {
    pair_rows_plain(first, chunk, other, row_len, kernel);
}

#[inline]
fn pair_rows<T: Element, U: Element, K: PairRow<T, U>>(
    level: Level,
    first: usize,
    chunk: &mut [MaybeUninit<T>],
    other: &mut [MaybeUninit<U>],
    row_len: usize,
    kernel: &K,
) {
    #[cfg(target_arch = "x86_64")]
    if level >= Level::Avx2Fma {
        // SAFETY: `level` comes from `simd::level()` (or a test asking for a
        // level at most that), which detected AVX2 and FMA on this CPU.
        unsafe { pair_rows_avx2(first, chunk, other, row_len, kernel) };
        return;
    }
    let _ = level;
    pair_rows_plain(first, chunk, other, row_len, kernel);
}

/// [`for_each_row`] over two outputs of the same layout (values and indices).
pub(crate) fn for_each_row_pair<T: Element, U: Element, K: PairRow<T, U>>(
    out: &mut [MaybeUninit<T>],
    other: &mut [MaybeUninit<U>],
    row_len: usize,
    parallel: bool,
    level: Level,
    kernel: &K,
) {
    if row_len == 0 || out.is_empty() {
        return;
    }
    if parallel {
        let count = out.len() / row_len;
        let per_task = count.div_ceil(rayon::current_num_threads() * 8).max(1);
        out.par_chunks_mut(per_task * row_len)
            .zip(other.par_chunks_mut(per_task * row_len))
            .enumerate()
            .for_each(|(task, (chunk, other_chunk))| {
                pair_rows(level, task * per_task, chunk, other_chunk, row_len, kernel);
            });
    } else {
        pair_rows(level, 0, out, other, row_len, kernel);
    }
}

/// `op(acc[i], src[i·S])` for every i, with the step known at compile time
/// so that the loads vectorise.
#[inline(always)]
fn sweep_const<T: Copy, const S: usize>(src: &[T], acc: &mut [T], op: impl Fn(&mut T, T)) {
    let full = (src.len() / S).min(acc.len());
    let (head, tail) = acc.split_at_mut(full);
    for (a, chunk) in head.iter_mut().zip(src.chunks_exact(S)) {
        op(a, chunk[0]);
    }
    for (i, a) in tail.iter_mut().enumerate() {
        op(a, src[(full + i) * S]);
    }
}

/// `op(acc[i], src[i·stride])` for every i.
#[inline(always)]
fn sweep<T: Copy>(stride: usize, src: &[T], acc: &mut [T], op: impl Fn(&mut T, T)) {
    match stride {
        1 => sweep_const::<T, 1>(src, acc, op),
        2 => sweep_const::<T, 2>(src, acc, op),
        3 => sweep_const::<T, 3>(src, acc, op),
        _ => {
            for (i, a) in acc.iter_mut().enumerate() {
                op(a, src[i * stride]);
            }
        }
    }
}

/// torch's max update: a larger value, or any NaN, takes the place (so NaN
/// propagates and the last NaN of a window is the one reported).
#[inline(always)]
fn takes_max<T: Real>(value: T, current: T) -> bool {
    // `|`, not `||`: no branch, so the update stays a select (a blend) and
    // is not turned into a masked store, which is slow on AMD cores.
    (value > current) | value.is_nan()
}

/// The max sweep that also records which tap won: `tap` is the same for
/// every lane (a broadcast constant), so the select vectorises as well as
/// the plain max; positions are derived from tap numbers once per row.
#[inline(always)]
fn sweep_max_tagged<T: Real>(stride: usize, src: &[T], acc: &mut [T], tags: &mut [u32], tap: u32) {
    let tags = &mut tags[..acc.len()];
    match stride {
        1 => {
            for ((a, t), &v) in acc.iter_mut().zip(tags.iter_mut()).zip(src) {
                let (current, current_tag) = (*a, *t);
                let take = takes_max(v, current);
                *a = if take { v } else { current };
                *t = if take { tap } else { current_tag };
            }
        }
        2 => {
            let full = (src.len() / 2).min(acc.len());
            for ((a, t), pair) in acc
                .iter_mut()
                .zip(tags.iter_mut())
                .zip(src.chunks_exact(2))
                .take(full)
            {
                let (current, current_tag) = (*a, *t);
                let take = takes_max(pair[0], current);
                *a = if take { pair[0] } else { current };
                *t = if take { tap } else { current_tag };
            }
            for i in full..acc.len() {
                let (v, current) = (src[i * 2], acc[i]);
                if takes_max(v, current) {
                    acc[i] = v;
                    tags[i] = tap;
                }
            }
        }
        _ => {
            for (i, (a, t)) in acc.iter_mut().zip(tags.iter_mut()).enumerate() {
                let (v, current, current_tag) = (src[i * stride], *a, *t);
                let take = takes_max(v, current);
                *a = if take { v } else { current };
                *t = if take { tap } else { current_tag };
            }
        }
    }
}

/// One output row of max pooling with positions (see [`max_pool`]):
/// `tags` (scratch, one per output) and `origins` (scratch, one per kernel
/// tap) are overwritten.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn max_row_indexed<T: Real>(
    g: &PoolGeometry,
    taps: &[WidthTap],
    plane: &[T],
    od: usize,
    oh: usize,
    acc: &mut [T],
    idx: &mut [i64],
    tags: &mut [u32],
    origins: &mut [i64],
    sweep: impl Fn(usize, &[T], &mut [T], &mut [u32], u32),
) {
    let [_, kernel_h, kernel_w] = g.kernel;
    acc.fill(T::neg_infinity());
    // origins[tap] + ow·S is the flat position tap `(kd, kh, kw)` of output
    // `ow` reads (meaningful only where that tap is inside the input).
    let (height, width) = (g.input[1] as i64, g.input[2] as i64);
    for kd in 0..g.kernel[0] {
        let id = (od * g.stride[0] + kd * g.dilation[0]) as i64 - g.padding[0] as i64;
        for kh in 0..kernel_h {
            let ih = (oh * g.stride[1] + kh * g.dilation[1]) as i64 - g.padding[1] as i64;
            for kw in 0..kernel_w {
                let iw = (kw * g.dilation[2]) as i64 - g.padding[2] as i64;
                origins[(kd * kernel_h + kh) * kernel_w + kw] = (id * height + ih) * width + iw;
            }
        }
    }
    // torch reports the window's first input element when nothing beats
    // −inf (an all −inf window): start every output at its first valid tap.
    let mut first_row_tap = None;
    for kd in 0..g.kernel[0] {
        if g.tap(0, od, kd).is_none() {
            continue;
        }
        if let Some(kh) = (0..kernel_h).find(|&kh| g.tap(1, oh, kh).is_some()) {
            first_row_tap = Some(kd * kernel_h + kh);
            break;
        }
    }
    let first_row_tap = first_row_tap.unwrap_or(0);
    for (ow, t) in tags.iter_mut().enumerate() {
        let first_w = (0..kernel_w)
            .find(|&kw| g.tap(2, ow, kw).is_some())
            .unwrap_or(0);
        *t = (first_row_tap * kernel_w + first_w) as u32;
    }
    for kd in 0..g.kernel[0] {
        let Some(id) = g.tap(0, od, kd) else { continue };
        for kh in 0..kernel_h {
            let Some(ih) = g.tap(1, oh, kh) else { continue };
            let row = (id * g.input[1] + ih) * g.input[2];
            for tap in taps {
                // From the row on to the plane's end, so that a vector sweep
                // may load past the row's last element (and not use it).
                sweep(
                    g.stride[2],
                    &plane[row + tap.start..],
                    &mut acc[tap.lo..tap.hi],
                    &mut tags[tap.lo..tap.hi],
                    ((kd * kernel_h + kh) * kernel_w + tap.kw) as u32,
                );
            }
        }
    }
    let stride = g.stride[2] as i64;
    for (ow, (ix, &t)) in idx.iter_mut().zip(tags.iter()).enumerate() {
        *ix = origins[t as usize] + ow as i64 * stride;
    }
}

/// `dst[i·S] += src[i]` for every i.
#[inline(always)]
fn scatter_add<T: Real>(stride: usize, dst: &mut [T], src: &[T]) {
    match stride {
        1 => {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = *d + s;
            }
        }
        2 => {
            let full = (dst.len() / 2).min(src.len());
            for (chunk, &s) in dst.chunks_exact_mut(2).zip(&src[..full]) {
                chunk[0] = chunk[0] + s;
            }
            for (i, &s) in src.iter().enumerate().skip(full) {
                dst[i * 2] = dst[i * 2] + s;
            }
        }
        _ => {
            for (i, &s) in src.iter().enumerate() {
                dst[i * stride] = dst[i * stride] + s;
            }
        }
    }
}

/// Where output row `r` lives: `(plane, od, oh)`.
#[inline(always)]
fn row_coords(g: &PoolGeometry, r: usize) -> (usize, usize, usize) {
    let oh = r % g.output[1];
    let rest = r / g.output[1];
    (rest / g.output[0], rest % g.output[0], oh)
}

/// Calls `f(offset of the input row in its plane)` for each tap `(kd, kh)`
/// of output row `(od, oh)` that lies inside the input, in row-major order.
#[inline(always)]
fn for_each_row_tap(g: &PoolGeometry, od: usize, oh: usize, mut f: impl FnMut(usize)) {
    for kd in 0..g.kernel[0] {
        let Some(id) = g.tap(0, od, kd) else { continue };
        for kh in 0..g.kernel[1] {
            let Some(ih) = g.tap(1, oh, kh) else { continue };
            f((id * g.input[1] + ih) * g.input[2]);
        }
    }
}

/// Calls `f(lo, hi, start)` for each tap along the width: outputs `lo..hi`
/// read the input row from `start` on with step `S`.
#[inline(always)]
fn for_each_width_tap(taps: &[WidthTap], mut f: impl FnMut(usize, usize, usize)) {
    for tap in taps {
        f(tap.lo, tap.hi, tap.start);
    }
}

/// One tap `kw` along the width: outputs `lo..hi` read the input row from
/// `start` on. The same for every row, so computed once per call (the
/// divisions it takes would otherwise cost more than a short row's sweep).
#[derive(Debug, Clone, Copy)]
struct WidthTap {
    kw: usize,
    lo: usize,
    hi: usize,
    start: usize,
}

fn width_taps(g: &PoolGeometry) -> Vec<WidthTap> {
    (0..g.kernel[2])
        .filter_map(|kw| {
            let (lo, hi) = g.outputs_hitting(2, kw);
            (lo < hi).then(|| WidthTap {
                kw,
                lo,
                hi,
                start: lo * g.stride[2] + kw * g.dilation[2] - g.padding[2],
            })
        })
        .collect()
}

fn is_parallel(g: &PoolGeometry) -> bool {
    split(g.work())
}

/// Max pooling. `input` holds `planes` contiguous input planes, `out` (and
/// `indices`, when given) as many output planes; every element is written,
/// so both may come uninitialised (as from [`crate::buffer::uninit`]).
pub fn max_pool<T: Real>(
    g: &PoolGeometry,
    input: &[T],
    out: &mut [MaybeUninit<T>],
    indices: Option<&mut [MaybeUninit<i64>]>,
) {
    max_pool_at(crate::simd::level(), g, input, out, indices);
}

/// [`max_pool`] with the instruction-set level given (tests run every level).
pub fn max_pool_at<T: Real>(
    level: Level,
    g: &PoolGeometry,
    input: &[T],
    out: &mut [MaybeUninit<T>],
    indices: Option<&mut [MaybeUninit<i64>]>,
) {
    // No planes (a zero-size batch or channel axis): nothing to compute, and
    // the per-width tables below could be huge for a wide empty input.
    if g.planes == 0 {
        return;
    }
    let width = g.output[2];
    let rows = PoolRows {
        g,
        input,
        in_plane: g.in_plane(),
        taps: width_taps(g),
    };
    // Measured on AMD Zen: compiled for AVX2, LLVM turns the max update (a
    // select) into masked stores (`vmaskmovps`), which are slow there and
    // made the kernel 2-3x slower than the baseline build, whose blends it
    // keeps. So the portable kernel stays on the baseline instruction set,
    // and float32 gets hand-written AVX2 sweeps (window/avx2.rs) instead.
    let avx2 = cfg!(target_arch = "x86_64")
        && level >= Level::Avx2Fma
        && TypeId::of::<T>() == TypeId::of::<f32>();
    let parallel = is_parallel(g);
    let indices = match indices {
        None if separable_f32(level, g, input, out, MAX, || Some(Finish::Keep)) => return,
        other => other,
    };
    match indices {
        #[cfg(target_arch = "x86_64")]
        None if avx2 => {
            // SAFETY: T is f32 (checked just above), so the slices are
            // reinterpreted as their own type.
            let (input, out) = unsafe { (cast_f32(input), cast_f32_out(out)) };
            let rows = PoolRows {
                g,
                input,
                in_plane: rows.in_plane,
                taps: rows.taps,
            };
            for_each_row(out, width, parallel, Level::Scalar, &MaxRowAvx2(rows));
        }
        None => for_each_row(out, width, parallel, Level::Scalar, &MaxRow(rows)),
        Some(indices) => for_each_row_pair(
            out,
            indices,
            width,
            parallel,
            Level::Scalar,
            &MaxIndexedRow(rows, avx2),
        ),
    }
}

/// `slice` as `&[f32]`.
///
/// # Safety
/// `T` must be `f32`.
unsafe fn cast_f32<T>(slice: &[T]) -> &[f32] {
    // SAFETY: T is f32 (the caller's contract): same layout and length.
    unsafe { std::slice::from_raw_parts(slice.as_ptr().cast::<f32>(), slice.len()) }
}

/// `slice` as `&mut [f32]`.
///
/// # Safety
/// `T` must be `f32`.
unsafe fn cast_f32_mut<T>(slice: &mut [T]) -> &mut [f32] {
    // SAFETY: T is f32 (the caller's contract): same layout and length, and
    // the borrow is carried over.
    unsafe { std::slice::from_raw_parts_mut(slice.as_mut_ptr().cast::<f32>(), slice.len()) }
}

/// An output buffer of `T` as one of `f32`.
///
/// # Safety
/// `T` must be `f32`.
unsafe fn cast_f32_out<T>(slice: &mut [MaybeUninit<T>]) -> &mut [MaybeUninit<f32>] {
    // SAFETY: T is f32 (the caller's contract): same layout and length, and
    // the borrow is carried over.
    unsafe { std::slice::from_raw_parts_mut(slice.as_mut_ptr().cast(), slice.len()) }
}

/// A row of the float32 separable engine with reduction `OP`.
#[cfg(target_arch = "x86_64")]
struct EngineRow<'a, const OP: u8>(avx2::Engine<'a>);

#[cfg(target_arch = "x86_64")]
impl<const OP: u8> Row<f32> for EngineRow<'_, OP> {
    #[inline(always)]
    fn row(&self, r: usize, out: &mut [f32]) {
        // SAFETY: `separable_f32` builds this kernel only when `level`
        // (from `simd::level()`, or a test's level at most that) has AVX2
        // and FMA.
        unsafe { self.0.row::<OP>(r, out) }
    }
}

/// Runs the float32 AVX2 separable engine (window/avx2.rs) with reduction
/// `op` when T is f32, `level` has AVX2 and the geometry suits it; says
/// whether it ran. Its results are bitwise those of the portable kernels.
#[allow(unused_variables)]
fn separable_f32<T: Real>(
    level: Level,
    g: &PoolGeometry,
    input: &[T],
    out: &mut [MaybeUninit<T>],
    op: u8,
    finish: impl FnOnce() -> Option<Finish>,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if level < Level::Avx2Fma || TypeId::of::<T>() != TypeId::of::<f32>() {
            return false;
        }
        let Some(finish) = finish() else {
            return false;
        };
        // SAFETY: T is f32 (checked just above).
        let (input, out) = unsafe { (cast_f32(input), cast_f32_out(out)) };
        let Some(engine) = avx2::Engine::new(g, input, finish) else {
            return false;
        };
        let (width, parallel) = (g.output[2], is_parallel(g));
        match op {
            MAX => for_each_row(
                out,
                width,
                parallel,
                Level::Scalar,
                &EngineRow::<{ MAX }>(engine),
            ),
            SUM => for_each_row(
                out,
                width,
                parallel,
                Level::Scalar,
                &EngineRow::<{ SUM }>(engine),
            ),
            SUM_SQUARES => for_each_row(
                out,
                width,
                parallel,
                Level::Scalar,
                &EngineRow::<{ SUM_SQUARES }>(engine),
            ),
            _ => for_each_row(
                out,
                width,
                parallel,
                Level::Scalar,
                &EngineRow::<{ SUM_ABS }>(engine),
            ),
        }
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The window reduction of the separable engine: the max of
/// [`takes_max`], or a sum of `x`, `x²` or `|x|` (average and Lp pooling).
pub(crate) const MAX: u8 = 0;
pub(crate) const SUM: u8 = 1;
pub(crate) const SUM_SQUARES: u8 = 2;
pub(crate) const SUM_ABS: u8 = 3;

/// What the engine does to each reduced window before storing it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Finish {
    /// Store as is (max, L1).
    Keep,
    /// The square root (L2).
    Sqrt,
    /// Divide by a fixed divisor (`divisor_override`).
    Divide(f32),
    /// Divide by torch's divisor, `row factor · width factor` (both exact
    /// integers in float32, and so is their product).
    DivideByWindow { count_include_pad: bool },
}

/// The float32 max row with the AVX2 sweeps; only built when the CPU has
/// AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
struct MaxRowAvx2<'a>(PoolRows<'a, f32>);

#[cfg(target_arch = "x86_64")]
impl Row<f32> for MaxRowAvx2<'_> {
    #[inline(always)]
    fn row(&self, r: usize, acc: &mut [f32]) {
        // SAFETY: `max_pool_at` builds this kernel only when `level` (from
        // `simd::level()`, or a test's level at most that) has AVX2 and FMA.
        unsafe { avx2::max_row(&self.0, r, acc) }
    }
}

/// What every fixed-window row kernel needs.
struct PoolRows<'a, T> {
    g: &'a PoolGeometry,
    input: &'a [T],
    in_plane: usize,
    taps: Vec<WidthTap>,
}

impl<T: Real> PoolRows<'_, T> {
    /// The input plane and `(od, oh)` of output row `r`.
    #[inline(always)]
    fn locate(&self, r: usize) -> (&[T], usize, usize) {
        let (plane, od, oh) = row_coords(self.g, r);
        (
            &self.input[plane * self.in_plane..(plane + 1) * self.in_plane],
            od,
            oh,
        )
    }

    /// `acc[o] = op(acc[o], x)` for every input `x` of each window `o` of the row.
    #[inline(always)]
    fn sweep_windows(
        &self,
        plane: &[T],
        od: usize,
        oh: usize,
        acc: &mut [T],
        op: impl Fn(&mut T, T) + Copy,
    ) {
        // Plain loops, not `for_each_row_tap`: a closure here would be
        // compiled out of line, without the caller's AVX2.
        let g = self.g;
        for kd in 0..g.kernel[0] {
            let Some(id) = g.tap(0, od, kd) else { continue };
            for kh in 0..g.kernel[1] {
                let Some(ih) = g.tap(1, oh, kh) else { continue };
                let start = (id * g.input[1] + ih) * g.input[2];
                let row = &plane[start..start + g.input[2]];
                for tap in &self.taps {
                    sweep(g.stride[2], &row[tap.start..], &mut acc[tap.lo..tap.hi], op);
                }
            }
        }
    }
}

struct MaxRow<'a, T>(PoolRows<'a, T>);

impl<T: Real> Row<T> for MaxRow<'_, T> {
    #[inline(always)]
    fn row(&self, r: usize, acc: &mut [T]) {
        let (plane, od, oh) = self.0.locate(r);
        acc.fill(T::neg_infinity());
        // An unconditional select (not a conditional store) so that the
        // loop vectorises.
        self.0.sweep_windows(plane, od, oh, acc, |a, v| {
            let current = *a;
            *a = if takes_max(v, current) { v } else { current };
        });
    }
}

/// The max row with positions; `.1` says that T is f32 and the CPU has
/// AVX2 and FMA, so the AVX2 sweeps may run.
struct MaxIndexedRow<'a, T>(PoolRows<'a, T>, bool);

impl<T: Real> PairRow<T, i64> for MaxIndexedRow<'_, T> {
    #[inline(always)]
    fn row(&self, r: usize, acc: &mut [T], idx: &mut [i64]) {
        let rows = &self.0;
        let avx2 = self.1;
        let (plane, od, oh) = rows.locate(r);
        let width = acc.len();
        let kernel_volume: usize = rows.g.kernel.iter().product();
        // Rows and kernels are small; stack buffers avoid two allocations
        // per row.
        let (mut tag_stack, mut origin_stack) = ([0u32; 256], [0i64; 64]);
        let (mut tag_heap, mut origin_heap) = (Vec::new(), Vec::new());
        let tags: &mut [u32] = if width <= tag_stack.len() {
            &mut tag_stack[..width]
        } else {
            tag_heap.resize(width, 0u32);
            &mut tag_heap
        };
        let origins: &mut [i64] = if kernel_volume <= origin_stack.len() {
            &mut origin_stack[..kernel_volume]
        } else {
            origin_heap.resize(kernel_volume, 0i64);
            &mut origin_heap
        };
        let sweep = |stride: usize, src: &[T], acc: &mut [T], tags: &mut [u32], tap: u32| {
            #[cfg(target_arch = "x86_64")]
            if avx2 {
                // SAFETY: `avx2` is set only when T is f32 and the CPU has
                // AVX2 and FMA (see `max_pool_at`).
                unsafe {
                    avx2::sweep_max_tagged(stride, cast_f32(src), cast_f32_mut(acc), tags, tap);
                }
                return;
            }
            let _ = avx2;
            sweep_max_tagged(stride, src, acc, tags, tap);
        };
        max_row_indexed(
            rows.g, &rows.taps, plane, od, oh, acc, idx, tags, origins, sweep,
        );
    }
}

/// The average-pool divisors along the width, and a function giving the
/// divisor of `(od, oh, ow)`.
fn divisors(g: &PoolGeometry, count_include_pad: bool) -> Vec<usize> {
    (0..g.output[2])
        .map(|ow| g.divisor_factor(2, ow, count_include_pad))
        .collect()
}

#[inline]
fn divisor_of<T: Real>(
    g: &PoolGeometry,
    width_divisors: &[usize],
    count_include_pad: bool,
    divisor_override: Option<usize>,
    od: usize,
    oh: usize,
    ow: usize,
) -> T {
    let d = divisor_override.unwrap_or_else(|| {
        g.divisor_factor(0, od, count_include_pad)
            * g.divisor_factor(1, oh, count_include_pad)
            * width_divisors[ow]
    });
    T::from_usize(d).unwrap_or_else(T::one)
}

/// Average pooling with torch's divisor rule (see
/// [`PoolGeometry::divisor_factor`]); `divisor_override` replaces it.
pub fn avg_pool<T: Real>(
    g: &PoolGeometry,
    input: &[T],
    out: &mut [MaybeUninit<T>],
    count_include_pad: bool,
    divisor_override: Option<usize>,
) {
    avg_pool_at(
        crate::simd::level(),
        g,
        input,
        out,
        count_include_pad,
        divisor_override,
    );
}

/// [`avg_pool`] with the instruction-set level given.
pub fn avg_pool_at<T: Real>(
    level: Level,
    g: &PoolGeometry,
    input: &[T],
    out: &mut [MaybeUninit<T>],
    count_include_pad: bool,
    divisor_override: Option<usize>,
) {
    // No planes (a zero-size batch or channel axis): nothing to compute, and
    // the per-width tables below could be huge for a wide empty input.
    if g.planes == 0 {
        return;
    }
    let exact_in_float = g.kernel.iter().product::<usize>() < 1 << 24;
    let finish = || match divisor_override {
        // Converted as the portable kernel converts it.
        Some(d) => Some(Finish::Divide(d as f32)),
        None => exact_in_float.then_some(Finish::DivideByWindow { count_include_pad }),
    };
    if separable_f32(level, g, input, out, SUM, finish) {
        return;
    }
    let width_divisors = divisors(g, count_include_pad);
    let kernel = AvgRow {
        width_factors: width_divisors
            .iter()
            .map(|&d| T::from_usize(d).unwrap_or_else(T::one))
            .collect(),
        width_divisors,
        // Divisors are products of window extents, at most the kernel
        // volume; below 2^24 the float product of the factors is exact (and
        // equal to converting the integer product), so it can be formed per
        // element without an integer-to-float conversion in the loop.
        exact_in_float,
        count_include_pad,
        divisor_override,
        rows: PoolRows {
            g,
            input,
            in_plane: g.in_plane(),
            taps: width_taps(g),
        },
    };
    for_each_row(out, g.output[2], is_parallel(g), level, &kernel);
}

struct AvgRow<'a, T> {
    rows: PoolRows<'a, T>,
    width_divisors: Vec<usize>,
    width_factors: Vec<T>,
    exact_in_float: bool,
    count_include_pad: bool,
    divisor_override: Option<usize>,
}

impl<T: Real> Row<T> for AvgRow<'_, T> {
    #[inline(always)]
    fn row(&self, r: usize, acc: &mut [T]) {
        let g = self.rows.g;
        let (plane, od, oh) = self.rows.locate(r);
        acc.fill(<T as Element>::zero());
        self.rows
            .sweep_windows(plane, od, oh, acc, |a, v| *a = *a + v);
        if let Some(d) = self.divisor_override {
            let d = T::from_usize(d).unwrap_or_else(T::one);
            for a in acc.iter_mut() {
                *a = *a / d;
            }
        } else if self.exact_in_float {
            let row_factor = g.divisor_factor(0, od, self.count_include_pad)
                * g.divisor_factor(1, oh, self.count_include_pad);
            let row_factor = T::from_usize(row_factor).unwrap_or_else(T::one);
            for (a, &w) in acc.iter_mut().zip(&self.width_factors) {
                *a = *a / (row_factor * w);
            }
        } else {
            for (ow, a) in acc.iter_mut().enumerate() {
                let d: T = divisor_of(
                    g,
                    &self.width_divisors,
                    self.count_include_pad,
                    None,
                    od,
                    oh,
                    ow,
                );
                *a = *a / d;
            }
        }
    }
}

/// Lp pooling: `(Σ |x|^p)^(1/p)` over each window (no padding, no dilation).
pub fn lp_pool<T: Real>(
    g: &PoolGeometry,
    input: &[T],
    out: &mut [MaybeUninit<T>],
    norm: LpNorm<T>,
) {
    lp_pool_at(crate::simd::level(), g, input, out, norm);
}

/// [`lp_pool`] with the instruction-set level given.
pub fn lp_pool_at<T: Real>(
    level: Level,
    g: &PoolGeometry,
    input: &[T],
    out: &mut [MaybeUninit<T>],
    norm: LpNorm<T>,
) {
    // No planes (a zero-size batch or channel axis): nothing to compute, and
    // the per-width tables below could be huge for a wide empty input.
    if g.planes == 0 {
        return;
    }
    let engine = match norm {
        LpNorm::One => Some((SUM_ABS, Finish::Keep)),
        LpNorm::Two => Some((SUM_SQUARES, Finish::Sqrt)),
        LpNorm::Other(_) => None,
    };
    if let Some((op, finish)) = engine
        && separable_f32(level, g, input, out, op, || Some(finish))
    {
        return;
    }
    // One instantiation per norm, so that no loop branches on it.
    match norm {
        LpNorm::One => lp_rows(level, g, input, out, |v: T| v.abs(), |s| s),
        LpNorm::Two => lp_rows(level, g, input, out, |v: T| v * v, |s: T| s.sqrt()),
        LpNorm::Other(p) => {
            let inverse = p.recip();
            lp_rows(
                level,
                g,
                input,
                out,
                |v: T| v.abs().powf(p),
                |s: T| s.powf(inverse),
            );
        }
    }
}

fn lp_rows<T: Real, P: Fn(T) -> T + Sync, R: Fn(T) -> T + Sync>(
    level: Level,
    g: &PoolGeometry,
    input: &[T],
    out: &mut [MaybeUninit<T>],
    power: P,
    root: R,
) {
    let kernel = LpRow {
        rows: PoolRows {
            g,
            input,
            in_plane: g.in_plane(),
            taps: width_taps(g),
        },
        power,
        root,
    };
    for_each_row(out, g.output[2], is_parallel(g), level, &kernel);
}

struct LpRow<'a, T, P, R> {
    rows: PoolRows<'a, T>,
    power: P,
    root: R,
}

impl<T: Real, P: Fn(T) -> T + Sync, R: Fn(T) -> T + Sync> Row<T> for LpRow<'_, T, P, R> {
    #[inline(always)]
    fn row(&self, r: usize, acc: &mut [T]) {
        let (plane, od, oh) = self.rows.locate(r);
        acc.fill(<T as Element>::zero());
        let power = &self.power;
        self.rows
            .sweep_windows(plane, od, oh, acc, |a, v| *a = *a + power(v));
        for a in acc.iter_mut() {
            *a = (self.root)(*a);
        }
    }
}

/// Adds `coefficients[o]` (one output row `(od, oh)`) to every input element
/// of each window `o` in `plane`.
fn scatter_row<T: Real>(
    g: &PoolGeometry,
    taps: &[WidthTap],
    od: usize,
    oh: usize,
    coefficients: &[T],
    plane: &mut [T],
) {
    for_each_row_tap(g, od, oh, |row| {
        let row = &mut plane[row..row + g.input[2]];
        for_each_width_tap(taps, |lo, hi, start| {
            scatter_add(g.stride[2], &mut row[start..], &coefficients[lo..hi]);
        });
    });
}

/// Runs `f(plane index, grad_in plane)` for each plane, in parallel when the
/// job is large. Each plane belongs to one task, which zeroes it (in its
/// core's cache) just before `f` accumulates into it, so every element of
/// `grad_in` is written and it may come uninitialised.
pub(crate) fn for_each_plane<T: Real>(
    grad_in: &mut [MaybeUninit<T>],
    in_plane: usize,
    parallel: bool,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    if in_plane == 0 {
        return;
    }
    let zero = <T as Element>::zero();
    if parallel {
        grad_in
            .par_chunks_mut(in_plane)
            .enumerate()
            .for_each(|(p, plane)| f(p, init_fill(plane, zero)));
    } else {
        for (p, plane) in grad_in.chunks_mut(in_plane).enumerate() {
            f(p, init_fill(plane, zero));
        }
    }
}

/// Gradient of [`avg_pool`]: each output's gradient, divided by its divisor,
/// is added to every input element of its window.
pub fn avg_pool_backward<T: Real>(
    g: &PoolGeometry,
    grad_out: &[T],
    grad_in: &mut [MaybeUninit<T>],
    count_include_pad: bool,
    divisor_override: Option<usize>,
) {
    // No planes (a zero-size batch or channel axis): nothing to compute, and
    // the per-width tables below could be huge for a wide empty input.
    if g.planes == 0 {
        return;
    }
    let (out_plane, width) = (g.out_plane(), g.output[2]);
    let taps = width_taps(g);
    let width_divisors = divisors(g, count_include_pad);
    for_each_plane(grad_in, g.in_plane(), is_parallel(g), |p, plane| {
        let grad_plane = &grad_out[p * out_plane..(p + 1) * out_plane];
        let mut scaled = vec![<T as Element>::zero(); width];
        for (r, grad_row) in grad_plane.chunks_exact(width).enumerate() {
            let (od, oh) = (r / g.output[1], r % g.output[1]);
            for (ow, (s, &gr)) in scaled.iter_mut().zip(grad_row).enumerate() {
                let d: T = divisor_of(
                    g,
                    &width_divisors,
                    count_include_pad,
                    divisor_override,
                    od,
                    oh,
                    ow,
                );
                *s = gr / d;
            }
            scatter_row(g, &taps, od, oh, &scaled, plane);
        }
    });
}

/// Gradient of [`lp_pool`]: `∂y/∂x = x·|x|^(p−2) / y^(p−1)`, 0 where `y = 0`.
/// The per-window factors `g / y^(p−1)` are summed onto the input first and
/// multiplied by `x·|x|^(p−2)` once per element.
pub fn lp_pool_backward<T: Real>(
    g: &PoolGeometry,
    grad_out: &[T],
    input: &[T],
    output: &[T],
    grad_in: &mut [MaybeUninit<T>],
    norm: LpNorm<T>,
) {
    // No planes (a zero-size batch or channel axis): nothing to compute, and
    // the per-width tables below could be huge for a wide empty input.
    if g.planes == 0 {
        return;
    }
    let (in_plane, out_plane, width) = (g.in_plane(), g.out_plane(), g.output[2]);
    let taps = width_taps(g);
    for_each_plane(grad_in, in_plane, is_parallel(g), |p, plane| {
        let grad_plane = &grad_out[p * out_plane..(p + 1) * out_plane];
        let out_values = &output[p * out_plane..(p + 1) * out_plane];
        let mut factors = vec![<T as Element>::zero(); width];
        for (r, (grad_row, y_row)) in grad_plane
            .chunks_exact(width)
            .zip(out_values.chunks_exact(width))
            .enumerate()
        {
            for ((f, &gr), &y) in factors.iter_mut().zip(grad_row).zip(y_row) {
                *f = norm.coefficient(gr, y);
            }
            scatter_row(g, &taps, r / g.output[1], r % g.output[1], &factors, plane);
        }
        let x_plane = &input[p * in_plane..(p + 1) * in_plane];
        for (gi, &x) in plane.iter_mut().zip(x_plane) {
            *gi = *gi * norm.derivative(x);
        }
    });
}

/// Gradient of max pooling (fixed or adaptive): `grad_in[indices[o]] +=
/// grad_out[o]` within each plane. The indices must already be checked to
/// lie in `0..in_plane` (see [`first_out_of_range`]).
pub fn max_pool_backward<T: Real>(
    grad_out: &[T],
    indices: &[i64],
    grad_in: &mut [MaybeUninit<T>],
    in_plane: usize,
    out_plane: usize,
) {
    let parallel = split(grad_in.len() + 2 * grad_out.len());
    for_each_plane(grad_in, in_plane, parallel, |p, plane| {
        let range = p * out_plane..(p + 1) * out_plane;
        for (&gr, &ix) in grad_out[range.clone()].iter().zip(&indices[range]) {
            if let Some(slot) = usize::try_from(ix).ok().and_then(|i| plane.get_mut(i)) {
                *slot = *slot + gr;
            }
        }
    });
}

/// The first position whose index is outside `0..in_plane`, if any.
pub fn first_out_of_range(indices: &[i64], in_plane: usize) -> Option<usize> {
    let bad = |&ix: &i64| usize::try_from(ix).map_or(true, |i| i >= in_plane);
    let all_good = if split(indices.len()) {
        !indices.par_iter().any(bad)
    } else {
        !indices.iter().any(bad)
    };
    if all_good {
        None
    } else {
        indices.iter().position(bad)
    }
}
