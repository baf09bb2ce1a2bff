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

use super::{PoolRows, WidthTap, row_coords, takes_max};
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
