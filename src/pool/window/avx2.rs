//! Hand-written AVX2 sweeps of the max-pool update for float32.
//!
//! Compiled for AVX2 from plain Rust, the max update (a select) became
//! masked stores (`vmaskmovps`), which are slow on AMD cores, so the
//! portable kernel stays on the baseline instruction set and these sweeps
//! say exactly which instructions run: `vmaxps` plus one blend per tap for
//! the values, a compare and two blends when the winning tap is recorded
//! too. They follow [`super::takes_max`] to the bit: a larger value or any
//! NaN takes the place, an equal value (either zero sign) does not, so
//! ties keep the first tap and NaN propagates (the last NaN wins).

use super::{Finish, MAX, PoolRows, SUM, SUM_SQUARES, WidthTap, row_coords, takes_max};
use crate::pool::params::PoolGeometry;
use std::arch::x86_64::*;

/// `v` where it takes the place of `current` (see [`takes_max`]).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn update(current: __m256, v: __m256) -> __m256 {
    // `vmaxps(v, current)` is `v > current ? v : current`: exactly
    // `takes_max` except for a NaN `v`, which the blend puts in.
    let larger = _mm256_max_ps(v, current);
    _mm256_blendv_ps(larger, v, _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v))
}

/// The lanes where `v` takes the place of `current`, as an all-ones mask.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn takes(current: __m256, v: __m256) -> __m256 {
    _mm256_or_ps(
        _mm256_cmp_ps::<_CMP_GT_OQ>(v, current),
        _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v),
    )
}

/// `src[0], src[2], …, src[14]`: the even elements of 16 floats.
///
/// # Safety
/// `src` must point at 16 readable floats.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn load_even(src: *const f32) -> __m256 {
    // SAFETY: 16 readable floats (the caller's contract).
    let (lo, hi) = unsafe { (_mm256_loadu_ps(src), _mm256_loadu_ps(src.add(8))) };
    // [lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6], then the 64-bit pairs reordered.
    let mixed = _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi);
    _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(
        mixed,
    )))
}

/// 8 values `src[i·stride]` for stride 1 or 2, or `None` when they (and,
/// for stride 2, the odd element after the last one) are not all in `src`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn load_strided(stride: usize, src: &[f32], i: usize) -> Option<__m256> {
    let first = i * stride;
    match stride {
        1 if first + 8 <= src.len() => {
            // SAFETY: src[first..first + 8] is in bounds (just checked).
            Some(unsafe { _mm256_loadu_ps(src.as_ptr().add(first)) })
        }
        2 if first + 16 <= src.len() => {
            // SAFETY: src[first..first + 16] is in bounds (just checked).
            Some(unsafe { load_even(src.as_ptr().add(first)) })
        }
        _ => None,
    }
}

/// The vector positions of a sweep over `len` outputs: 0, 8, 16, … and,
/// when `len` is not a multiple of 8, a last vector ending at `len` that
/// overlaps the one before it. The max update is idempotent (a value that
/// took the place does not take it again, a NaN puts itself back), so the
/// overlap changes nothing, and no output is left to a branchy scalar tail.
#[inline(always)]
fn vector_starts(len: usize) -> impl Iterator<Item = usize> {
    let last = len.wrapping_sub(8);
    let count = if len < 8 { 0 } else { len.div_ceil(8) };
    (0..count).map(move |k| (k * 8).min(last))
}

/// `acc[i] = max(acc[i], src[i·stride])` with the max of [`takes_max`].
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn sweep_max(stride: usize, src: &[f32], acc: &mut [f32]) {
    let mut done = 0;
    if stride <= 2 {
        for i in vector_starts(acc.len()) {
            let Some(v) = load_strided(stride, src, i) else {
                break;
            };
            let lanes = &mut acc[i..i + 8];
            // SAFETY: `lanes` holds exactly 8 floats.
            unsafe {
                let current = _mm256_loadu_ps(lanes.as_ptr());
                _mm256_storeu_ps(lanes.as_mut_ptr(), update(current, v));
            }
            done = i + 8;
        }
    }
    for (j, a) in acc.iter_mut().enumerate().skip(done) {
        let (v, current) = (src[j * stride], *a);
        // A select, not a branch: random data would mispredict it.
        *a = if takes_max(v, current) { v } else { current };
    }
}

/// [`sweep_max`] that also records `tap` where the value takes the place.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn sweep_max_tagged(
    stride: usize,
    src: &[f32],
    acc: &mut [f32],
    tags: &mut [u32],
    tap: u32,
) {
    let tags = &mut tags[..acc.len()];
    let tap_lanes = _mm256_castsi256_ps(_mm256_set1_epi32(tap as i32));
    let mut done = 0;
    if stride <= 2 {
        for i in vector_starts(acc.len()) {
            let Some(v) = load_strided(stride, src, i) else {
                break;
            };
            let lanes = &mut acc[i..i + 8];
            let tag_lanes = &mut tags[i..i + 8];
            // SAFETY: `lanes` holds 8 floats and `tag_lanes` 8 u32s (32
            // bytes each; unaligned loads and stores); the `asm!` is empty
            // (it reads and writes only its register operand).
            unsafe {
                let current = _mm256_loadu_ps(lanes.as_ptr());
                let current_tags = _mm256_loadu_ps(tag_lanes.as_ptr().cast::<f32>());
                let take = takes(current, v);
                // Stored as computed: a blend of the loaded value stored
                // back is what LLVM turns into `vmaskmovps`, slow on AMD
                // cores (measured 3x slower). `update` is no such blend, and
                // the tags pass through an empty `asm!` that hides theirs.
                _mm256_storeu_ps(lanes.as_mut_ptr(), update(current, v));
                let mut new_tags = _mm256_blendv_ps(current_tags, tap_lanes, take);
                std::arch::asm!(
                    "/* {0} */",
                    inout(ymm_reg) new_tags,
                    options(pure, nomem, nostack, preserves_flags)
                );
                _mm256_storeu_ps(tag_lanes.as_mut_ptr().cast::<f32>(), new_tags);
            }
            done = i + 8;
        }
    }
    for j in done..acc.len() {
        let (v, current, current_tag) = (src[j * stride], acc[j], tags[j]);
        let take = takes_max(v, current);
        acc[j] = if take { v } else { current };
        tags[j] = if take { tap } else { current_tag };
    }
}

/// One output row of max pooling (values only): the portable
/// `MaxRow::row` with the AVX2 sweeps. Each tap's sweep reads the input
/// from its row on (not just the row) so that the last vector of a row may
/// load the odd element past it; only elements of the row are used.
#[target_feature(enable = "avx2,fma")]
pub(super) fn max_row(rows: &PoolRows<'_, f32>, r: usize, acc: &mut [f32]) {
    let (plane, od, oh) = row_coords(rows.g, r);
    // The input from this plane on: the last vector of the plane's last
    // row may then read the next plane's first element.
    let plane = &rows.input[plane * rows.in_plane..];
    acc.fill(f32::NEG_INFINITY);
    let g: &PoolGeometry = rows.g;
    let taps: &[WidthTap] = &rows.taps;
    for kd in 0..g.kernel[0] {
        let Some(id) = g.tap(0, od, kd) else { continue };
        for kh in 0..g.kernel[1] {
            let Some(ih) = g.tap(1, oh, kh) else { continue };
            let start = (id * g.input[1] + ih) * g.input[2];
            for tap in taps {
                sweep_max(
                    g.stride[2],
                    &plane[start + tap.start..],
                    &mut acc[tap.lo..tap.hi],
                );
            }
        }
    }
}

/// The reduction's identity: what a tap in the padding contributes. Exact:
/// `−inf` never takes the max's place, and adding `+0` leaves a sum that
/// starts at `+0` unchanged (such a sum is never `−0`).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn identity<const OP: u8>() -> __m256 {
    if OP == MAX {
        _mm256_set1_ps(f32::NEG_INFINITY)
    } else {
        _mm256_setzero_ps()
    }
}

/// One step of the reduction, `acc` first, `v` the next tap: the portable
/// kernels' update, operation for operation.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn combine<const OP: u8>(acc: __m256, v: __m256) -> __m256 {
    match OP {
        MAX => update(acc, v),
        SUM => _mm256_add_ps(acc, v),
        SUM_SQUARES => _mm256_add_ps(acc, _mm256_mul_ps(v, v)),
        _ => _mm256_add_ps(acc, _mm256_andnot_ps(_mm256_set1_ps(-0.0), v)),
    }
}

/// One vector load of a block: 8 (stride 1) or 16 (stride 2) floats of an
/// input row from `offset` (relative to the row's first element, negative
/// in the left padding). `mask` is `None` when all of them lie in the row;
/// otherwise it selects the lanes that do, and the others are the identity.
#[derive(Debug, Clone)]
struct Load {
    offset: isize,
    mask: Option<[i32; 16]>,
}

/// A run of output blocks of a row (see [`Engine`]).
#[derive(Debug, Clone, Copy)]
enum Segment {
    /// `N` blocks of 8 outputs from this output on, every load inside the
    /// row: no masks, and `N` independent chains to hide the latency.
    Direct4(usize),
    Direct1(usize),
    /// Block number `b` (its loads are `loads[b·per_block..]`), with masks.
    Masked(usize),
}

/// The separable engine for float32 windows with stride 1 or 2 and no
/// dilation along the width: each block of 8 outputs of a row is reduced
/// in registers over all its taps, input row by input row (kd, kh in
/// row-major order) and tap by tap along the width, which is the order of
/// the portable kernels, so the results are bitwise theirs (the max, being
/// a selection, is reduced along each row first and then across rows:
/// the same element wins). Stride 2 reads 16 consecutive floats per pair
/// of width taps and splits them into the even and odd elements with one
/// shuffle each (the lanes stay in the shuffle's order until the store);
/// taps in the padding are masked to the reduction's identity.
pub(super) struct Engine<'a> {
    g: &'a PoolGeometry,
    input: &'a [f32],
    in_plane: usize,
    /// Output rows in all planes.
    row_count: usize,
    /// Whether rows ask for their input ahead (see [`PREFETCH_MIN_BYTES`]).
    prefetch: bool,
    /// The first output of each block: 0, 8, 16, … and, when the row is not
    /// a multiple of 8, a last block ending at its end (overlapping the one
    /// before: the block is recomputed, not accumulated, so that is
    /// harmless). A row shorter than 8 has one block, stored through a
    /// temporary.
    blocks: Vec<usize>,
    segments: Vec<Segment>,
    /// `loads_per_block` loads per block, in tap order.
    loads: Vec<Load>,
    loads_per_block: usize,
    /// torch's average divisor factor along the width per output (padded
    /// with ones to at least 8).
    width_factors: Vec<f32>,
    finish: Finish,
}

/// The largest number of input rows (`kernel_d · kernel_h`) per window the
/// engine handles (it keeps their addresses on the stack).
const MAX_ROWS: usize = 64;

/// Inputs of this many bytes or more (beyond this machine's 32 MiB
/// last-level cache, so read from memory) have each output row ask for the
/// input rows of the row [`PREFETCH_AHEAD`] rows on. Every window reads two
/// or three input rows at once, and the hardware prefetcher alone left the
/// loads waiting on memory: measured on (16, 64, 224, 224) float32, a
/// 2-core AMD EPYC (Zen 5) VM, old and new builds alternated after 20 ms
/// pauses, one thread: avg_pool2d(2, 2) 32.8 → 11.2 ms, max_pool2d(3, 2, 1)
/// 41.5 → 14.5 ms; two threads: 18.3 → 8.8 and 23.4 → 8.9 ms. On a
/// (8, 64, 112, 112) input, which fits that cache, max pooling was 11–28 %
/// slower with it (average and L2 pooling 25–45 % faster), so smaller
/// inputs go without.
const PREFETCH_MIN_BYTES: usize = 32 << 20;

/// How many output rows ahead the input is asked for: 8 and 16 measured
/// the same (one output row takes about 0.1 µs).
const PREFETCH_AHEAD: usize = 8;

impl<'a> Engine<'a> {
    /// The engine for `g`, or `None` when it does not apply (stride above
    /// 2 or dilation along the width, too many rows per window).
    pub(super) fn new(g: &'a PoolGeometry, input: &'a [f32], finish: Finish) -> Option<Self> {
        let (stride, kernel_w) = (g.stride[2], g.kernel[2]);
        if !(1..=2).contains(&stride)
            || g.dilation[2] != 1
            || kernel_w == 0
            || kernel_w > 32
            || g.kernel[0] * g.kernel[1] > MAX_ROWS
            || g.output[2] == 0
        {
            return None;
        }
        let (width, out_w, pad) = (g.input[2] as isize, g.output[2], g.padding[2] as isize);
        let blocks: Vec<usize> = if out_w < 8 {
            vec![0]
        } else {
            vector_starts(out_w).collect()
        };
        let lanes = 8 * stride as isize;
        let starts: Vec<isize> = (0..kernel_w as isize).step_by(stride).collect();
        let mut loads = Vec::with_capacity(blocks.len() * starts.len());
        let mut segments = Vec::new();
        let mut run: Option<(usize, usize)> = None;
        let flush = |run: &mut Option<(usize, usize)>, segments: &mut Vec<Segment>| {
            if let Some((first, count)) = run.take() {
                for i in 0..count / 4 {
                    segments.push(Segment::Direct4(first + 32 * i));
                }
                for i in count / 4 * 4..count {
                    segments.push(Segment::Direct1(first + 8 * i));
                }
            }
        };
        for (b, &block) in blocks.iter().enumerate() {
            let mut direct = out_w >= 8;
            for &kw in &starts {
                let offset = block as isize * stride as isize + kw - pad;
                let mask = (offset < 0 || offset + lanes > width).then(|| {
                    let mut mask = [0i32; 16];
                    for (t, m) in mask.iter_mut().enumerate().take(lanes as usize) {
                        let column = offset + t as isize;
                        *m = if (0..width).contains(&column) { -1 } else { 0 };
                    }
                    mask
                });
                direct &= mask.is_none();
                loads.push(Load { offset, mask });
            }
            match run {
                Some((first, count)) if direct && first + 8 * count == block => {
                    run = Some((first, count + 1));
                }
                _ => {
                    flush(&mut run, &mut segments);
                    if direct {
                        run = Some((block, 1));
                    } else {
                        segments.push(Segment::Masked(b));
                    }
                }
            }
        }
        flush(&mut run, &mut segments);
        let count_include_pad = matches!(
            finish,
            Finish::DivideByWindow {
                count_include_pad: true
            }
        );
        let mut width_factors: Vec<f32> = (0..out_w)
            .map(|ow| g.divisor_factor(2, ow, count_include_pad) as f32)
            .collect();
        width_factors.resize(out_w.max(8), 1.0);
        Some(Engine {
            g,
            input,
            in_plane: g.in_plane(),
            row_count: g.planes * g.output[0] * g.output[1],
            prefetch: std::mem::size_of_val(input) >= PREFETCH_MIN_BYTES,
            blocks,
            segments,
            loads_per_block: starts.len(),
            loads,
            width_factors,
            finish,
        })
    }

    /// Output row `r` (all its `output[2]` values) into `out`.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn row<const OP: u8>(&self, r: usize, out: &mut [f32]) {
        // SAFETY: the caller's contract.
        unsafe {
            if self.g.stride[2] == 2 {
                self.row_strided::<OP, 2>(r, out);
            } else {
                self.row_strided::<OP, 1>(r, out);
            }
        }
    }

    /// [`Engine::row`] for stride `S`.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn row_strided<const OP: u8, const S: usize>(&self, r: usize, out: &mut [f32]) {
        let g = self.g;
        let mut rows = [std::ptr::null::<f32>(); MAX_ROWS];
        let (count, od, oh) = self.window_rows(r, &mut rows);
        if self.prefetch && r + PREFETCH_AHEAD < self.row_count {
            self.prefetch_new_rows(r + PREFETCH_AHEAD);
        }
        let rows = &rows[..count];
        let divisor = match self.finish {
            Finish::Divide(d) => _mm256_set1_ps(d),
            Finish::DivideByWindow { count_include_pad } => _mm256_set1_ps(
                (g.divisor_factor(0, od, count_include_pad)
                    * g.divisor_factor(1, oh, count_include_pad)) as f32,
            ),
            _ => _mm256_set1_ps(1.0),
        };
        for &segment in &self.segments {
            // Every row pointer addresses a whole input row; a direct
            // segment's loads lie inside their rows (checked in `new`), and
            // a masked load touches only the lanes its mask selects, which
            // lie inside the row too.
            match segment {
                Segment::Direct4(start) => {
                    // SAFETY: direct loads inside their rows (see above).
                    let acc = unsafe { self.direct::<OP, S, 4>(rows, start) };
                    for (i, acc) in acc.into_iter().enumerate() {
                        self.store(out, start + 8 * i, acc, divisor);
                    }
                }
                Segment::Direct1(start) => {
                    // SAFETY: direct loads inside their rows (see above).
                    let [acc] = unsafe { self.direct::<OP, S, 1>(rows, start) };
                    self.store(out, start, acc, divisor);
                }
                Segment::Masked(b) => {
                    let loads =
                        &self.loads[b * self.loads_per_block..(b + 1) * self.loads_per_block];
                    // SAFETY: masked loads touch only lanes inside their rows (see above).
                    let acc = unsafe {
                        if S == 2 {
                            self.masked_stride2::<OP>(rows, loads)
                        } else {
                            self.masked_stride1::<OP>(rows, loads)
                        }
                    };
                    self.store(out, self.blocks[b], acc, divisor);
                }
            }
        }
    }

    /// The input rows of output row `r` (one per tap `(kd, kh)` inside the
    /// input, in row-major order, so at rising addresses) into `rows`, with
    /// their count and `(od, oh)`.
    #[inline(always)]
    fn window_rows(&self, r: usize, rows: &mut [*const f32; MAX_ROWS]) -> (usize, usize, usize) {
        let g = self.g;
        let (plane, od, oh) = row_coords(g, r);
        let plane = &self.input[plane * self.in_plane..(plane + 1) * self.in_plane];
        let mut count = 0;
        for kd in 0..g.kernel[0] {
            let Some(id) = g.tap(0, od, kd) else { continue };
            for kh in 0..g.kernel[1] {
                let Some(ih) = g.tap(1, oh, kh) else { continue };
                let start = (id * g.input[1] + ih) * g.input[2];
                rows[count] = plane[start..start + g.input[2]].as_ptr();
                count += 1;
            }
        }
        (count, od, oh)
    }

    /// Asks for the input rows of output row `r` (r ≥ 1) that the row
    /// before it does not read, every cache line of them, into L1.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn prefetch_new_rows(&self, r: usize) {
        let mut rows = [std::ptr::null::<f32>(); MAX_ROWS];
        let (count, _, _) = self.window_rows(r, &mut rows);
        let mut before = [std::ptr::null::<f32>(); MAX_ROWS];
        let (seen, _, _) = self.window_rows(r - 1, &mut before);
        // Rows come at rising addresses, and a later plane lies above an
        // earlier one: a row is new when it lies above the last row read
        // before.
        let last = if seen > 0 {
            before[seen - 1]
        } else {
            std::ptr::null()
        };
        for &row in rows[..count].iter().filter(|&&row| row > last) {
            for at in (0..self.g.input[2]).step_by(16) {
                // SAFETY: `at` lies inside the input row that `row` starts
                // (and a prefetch never faults anyway).
                unsafe { _mm_prefetch::<_MM_HINT_T0>(row.add(at).cast::<i8>()) };
            }
        }
    }

    /// Finishes the 8 outputs from `start` on and stores them (through a
    /// temporary when the row is shorter than 8).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn store(&self, out: &mut [f32], start: usize, acc: __m256, divisor: __m256) {
        let acc = match self.finish {
            Finish::Keep => acc,
            Finish::Sqrt => _mm256_sqrt_ps(acc),
            Finish::Divide(_) => _mm256_div_ps(acc, divisor),
            Finish::DivideByWindow { .. } => {
                let factors = &self.width_factors[start..start + 8];
                // SAFETY: `factors` holds 8 floats.
                let width = unsafe { _mm256_loadu_ps(factors.as_ptr()) };
                _mm256_div_ps(acc, _mm256_mul_ps(divisor, width))
            }
        };
        if let Some(lanes) = out.get_mut(start..start + 8) {
            // SAFETY: `lanes` holds 8 floats.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc) };
        } else {
            let mut lanes = [0f32; 8];
            // SAFETY: `lanes` holds 8 floats.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc) };
            let rest = out.len().saturating_sub(start);
            out[start..].copy_from_slice(&lanes[..rest]);
        }
    }

    /// `N` consecutive blocks from output `start` on whose loads all lie
    /// inside their rows, in natural lane order.
    ///
    /// # Safety
    /// As in [`Engine::row_strided`].
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn direct<const OP: u8, const S: usize, const N: usize>(
        &self,
        rows: &[*const f32],
        start: usize,
    ) -> [__m256; N] {
        let kernel_w = self.g.kernel[2];
        let first = (start * S) as isize - self.g.padding[2] as isize;
        let mut acc = [identity::<OP>(); N];
        for (r, &row) in rows.iter().enumerate() {
            let row = row.wrapping_offset(first);
            // The max reduces each row on its own first (shorter chains);
            // the sums add tap by tap in order.
            let mut h = [identity::<OP>(); N];
            let mut kw = 0;
            while kw < kernel_w {
                for i in 0..N {
                    let at = row.wrapping_add(8 * S * i + kw);
                    if S == 2 {
                        // SAFETY: a direct load (see `row_strided`).
                        let (lo, hi) = unsafe { (_mm256_loadu_ps(at), _mm256_loadu_ps(at.add(8))) };
                        let even = _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi);
                        let odd = _mm256_shuffle_ps::<0b11_01_11_01>(lo, hi);
                        if OP == MAX {
                            h[i] = if kw == 0 {
                                even
                            } else {
                                combine::<OP>(h[i], even)
                            };
                            if kw + 1 < kernel_w {
                                h[i] = combine::<OP>(h[i], odd);
                            }
                        } else {
                            acc[i] = combine::<OP>(acc[i], even);
                            if kw + 1 < kernel_w {
                                acc[i] = combine::<OP>(acc[i], odd);
                            }
                        }
                    } else {
                        // SAFETY: a direct load (see `row_strided`).
                        let v = unsafe { _mm256_loadu_ps(at) };
                        if OP == MAX {
                            h[i] = if kw == 0 { v } else { combine::<OP>(h[i], v) };
                        } else {
                            acc[i] = combine::<OP>(acc[i], v);
                        }
                    }
                }
                kw += S;
            }
            if OP == MAX {
                for i in 0..N {
                    acc[i] = if r == 0 {
                        h[i]
                    } else {
                        combine::<OP>(acc[i], h[i])
                    };
                }
            }
        }
        if S == 2 {
            for a in acc.iter_mut() {
                *a = _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(*a)));
            }
        }
        acc
    }

    /// One block with masked loads, stride 1.
    ///
    /// # Safety
    /// As in [`Engine::row_strided`].
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn masked_stride1<const OP: u8>(&self, rows: &[*const f32], loads: &[Load]) -> __m256 {
        let mut acc = identity::<OP>();
        for &row in rows {
            for load in loads {
                let at = row.wrapping_offset(load.offset);
                // SAFETY: see `row_strided`.
                let v = unsafe {
                    match &load.mask {
                        None => _mm256_loadu_ps(at),
                        Some(mask) => masked_load::<OP>(at, mask.as_ptr()),
                    }
                };
                acc = combine::<OP>(acc, v);
            }
        }
        acc
    }

    /// One block with masked loads, stride 2, in natural order.
    ///
    /// # Safety
    /// As in [`Engine::row_strided`].
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn masked_stride2<const OP: u8>(&self, rows: &[*const f32], loads: &[Load]) -> __m256 {
        let kernel_w = self.g.kernel[2];
        let mut acc = identity::<OP>();
        for &row in rows {
            for (pair, load) in loads.iter().enumerate() {
                let at = row.wrapping_offset(load.offset);
                // SAFETY: see `row_strided`.
                let (lo, hi) = unsafe {
                    match &load.mask {
                        None => (_mm256_loadu_ps(at), _mm256_loadu_ps(at.wrapping_add(8))),
                        Some(mask) => (
                            masked_load::<OP>(at, mask.as_ptr()),
                            masked_load::<OP>(at.wrapping_add(8), mask.as_ptr().add(8)),
                        ),
                    }
                };
                // Lanes in the order [0 1 4 5 | 2 3 6 7] of the outputs,
                // for the even (tap 2·pair) and odd (tap 2·pair + 1)
                // elements alike.
                acc = combine::<OP>(acc, _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi));
                if 2 * pair + 1 < kernel_w {
                    acc = combine::<OP>(acc, _mm256_shuffle_ps::<0b11_01_11_01>(lo, hi));
                }
            }
        }
        _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(
            acc,
        )))
    }
}

/// 8 floats from `at` where `mask` (8 `i32`s, −1 or 0) selects them, the
/// reduction's identity elsewhere.
///
/// # Safety
/// `mask` must point at 8 readable `i32`s, and the selected lanes of `at`
/// must be readable.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn masked_load<const OP: u8>(at: *const f32, mask: *const i32) -> __m256 {
    // SAFETY: 8 readable i32s; `vmaskmovps` reads only the selected lanes
    // (and never faults on the others).
    let (mask, v) = unsafe {
        let mask = _mm256_loadu_si256(mask.cast::<__m256i>());
        (mask, _mm256_maskload_ps(at, mask))
    };
    if OP == MAX {
        _mm256_blendv_ps(identity::<OP>(), v, _mm256_castsi256_ps(mask))
    } else {
        v
    }
}
