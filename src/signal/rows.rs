//! Row kernels: a 'valid' correlation over a tile's input rows.
//!
//! The generic kernel serves every element type and is the reference; for
//! float32 and float64 an AVX2+FMA kernel runs when [`crate::simd::level`]
//! allows it. It keeps eight vector accumulators (64 float32 or 32 float64
//! output columns) in registers across all `kh · kw` taps: eight independent
//! FMA chains cover the FMA latency on two FMA ports, and each tap costs one
//! unaligned load per FMA plus one broadcast per eight FMAs.

use crate::buffer::ZeroBits;
use crate::element::Element;
use crate::simd::Level;

/// One tile's work: `out[r][c] = Σ_{i,j} rows[r + i][c + j] · taps[i][j]`
/// for `r < th`, `c < tw`.
pub struct TileArgs<'a, T> {
    /// `th + kh − 1` input rows of at least `tw + kw − 1` elements each
    /// (rows of the input itself, or of a boundary-extended scratch block).
    pub rows: &'a [&'a [T]],
    /// `kh × kw` taps, C order.
    pub taps: &'a [T],
    /// Kernel rows.
    pub kh: usize,
    /// Kernel columns.
    pub kw: usize,
    /// Tile rows.
    pub th: usize,
    /// Tile columns.
    pub tw: usize,
    /// Distance between output rows in `out`.
    pub out_stride: usize,
}

/// An element type the plane engine can run on; float types override
/// [`RowKernel::correlate_rows`] with SIMD kernels. `ZeroBits` because the
/// engine takes its output buffer from the allocator's zeroed memory.
pub trait RowKernel: Element + ZeroBits {
    /// Computes the tile into `out` (row `r` at `out[r * out_stride..][..tw]`).
    fn correlate_rows(a: &TileArgs<'_, Self>, out: &mut [Self], level: Level) {
        let _ = level;
        generic(a, out);
    }

    /// The factors `(column, row)` with `taps[i][j] = column[i] · row[j]`
    /// when the `kh × kw` kernel is rank one by [`rank_one_f64`]'s rule, so
    /// that the engine may correlate with `row` and then `column` (`kh + kw`
    /// instead of `kh · kw` multiply-adds per output). `None` for every type
    /// without an override: integer results stay those of the direct sum
    /// (exact, wrapping as scipy does) and complex kernels keep one path.
    fn rank_one(taps: &[Self], kh: usize, kw: usize) -> Option<(Vec<Self>, Vec<Self>)> {
        let _ = (taps, kh, kw);
        None
    }
}

/// Relative Frobenius tolerance of the rank-one test, in units of the
/// element type's machine epsilon. Rounding the outer product of two exact
/// factors to the element type, then rebuilding it from the rounded taps,
/// leaves at most about 2.5 ε per tap; 8 ε accepts every such kernel, and
/// the rank-one kernel it substitutes then differs from the given one by at
/// most 8 ε in relative Frobenius norm, which bounds the extra relative
/// error of the output on random data (float32 1e-6 against the 2e-5
/// budget, float64 2e-15 against 1e-11). A kernel perturbed by anything
/// larger (1e-6 relative on float32, 1e-14 on float64) keeps the direct sum.
pub const RANK_ONE_TOLERANCE_EPS: f64 = 8.0;

/// The rank-one factorisation test, in float64 on taps converted exactly
/// from the element type (`eps` is the element type's machine epsilon).
///
/// Rule: both kernel dimensions at least [`RANK_ONE_MIN_SIDE`] and `kh · kw
/// ≥ 2 (kh + kw)` (smaller ones gain nothing: 3 × 3 stays direct, 4 × 4 and
/// 3 × 6 split), every tap finite, not all zero; with the pivot `(p, q)` at
/// the first tap of largest magnitude, `row = taps[p][..]` and `column[i] =
/// taps[i][q] / taps[p][q]`; the kernel is taken as rank one when
/// `‖taps − column·rowᵀ‖_F ≤ RANK_ONE_TOLERANCE_EPS · eps · ‖taps‖_F`.
pub fn rank_one_f64(taps: &[f64], kh: usize, kw: usize, eps: f64) -> Option<(Vec<f64>, Vec<f64>)> {
    if kh < RANK_ONE_MIN_SIDE || kw < RANK_ONE_MIN_SIDE || taps.len() != kh * kw {
        return None;
    }
    // The two passes cost kh + kw multiply-adds per output plus a second
    // trip through the tile; measured on 2048² float32 images, 3 × 3 ran
    // faster direct and 5 × 5 split, so the split needs the direct sum to
    // cost at least twice the passes.
    if kh * kw < 2 * (kh + kw) {
        return None;
    }
    if !taps.iter().all(|t| t.is_finite()) {
        return None;
    }
    let mut pivot = 0;
    for (index, t) in taps.iter().enumerate() {
        if t.abs() > taps[pivot].abs() {
            pivot = index;
        }
    }
    let peak = taps[pivot];
    if peak == 0.0 {
        return None;
    }
    let (p, q) = (pivot / kw, pivot % kw);
    let row: Vec<f64> = taps[p * kw..(p + 1) * kw].to_vec();
    let column: Vec<f64> = (0..kh).map(|i| taps[i * kw + q] / peak).collect();
    // Scaled by the peak so that squares neither overflow nor underflow.
    let mut residual = 0.0;
    let mut norm = 0.0;
    for i in 0..kh {
        for j in 0..kw {
            let t = taps[i * kw + j] / peak;
            let d = t - column[i] * (row[j] / peak);
            residual += d * d;
            norm += t * t;
        }
    }
    let tolerance = RANK_ONE_TOLERANCE_EPS * eps;
    (residual.sqrt() <= tolerance * norm.sqrt()).then_some((column, row))
}

/// Kernels narrower or shorter than this are never split: a 2 × k kernel
/// costs `2 + k` multiply-adds per output split against `2k` direct, too
/// little to pay for the second pass over the tile.
pub const RANK_ONE_MIN_SIDE: usize = 3;

/// The separable form of one tile: correlates its `th + kh − 1` input rows
/// with `row` into `tmp` (`th + kh − 1` rows of `tw`), then the rows of
/// `tmp` with `column` into `out`; `a.taps`, `a.kh` and `a.kw` give the
/// kernel's shape (its taps are not read). Each output sums
/// `column[i] · (Σ_j rows[r + i][c + j] · row[j])` in the same order on
/// every path and thread count.
pub fn correlate_rows_separable<T: RowKernel>(
    a: &TileArgs<'_, T>,
    column: &[T],
    row: &[T],
    tmp: &mut Vec<T>,
    out: &mut [T],
    level: Level,
) -> crate::error::Result<()> {
    let sh = a.th + a.kh - 1;
    let len = sh
        .checked_mul(a.tw)
        .ok_or_else(|| crate::error::Error::overflow("the separable intermediate block"))?;
    if tmp.len() < len {
        *tmp = crate::buffer::try_filled(len, T::zero())?;
    }
    let horizontal = TileArgs {
        rows: a.rows,
        taps: row,
        kh: 1,
        kw: a.kw,
        th: sh,
        tw: a.tw,
        out_stride: a.tw,
    };
    T::correlate_rows(&horizontal, &mut tmp[..len], level);
    let tmp_rows: Vec<&[T]> = tmp[..len].chunks(a.tw).collect();
    let vertical = TileArgs {
        rows: &tmp_rows,
        taps: column,
        kh: a.kh,
        kw: 1,
        th: a.th,
        tw: a.tw,
        out_stride: a.out_stride,
    };
    T::correlate_rows(&vertical, out, level);
    Ok(())
}

/// The portable kernel: taps in C order, each a multiply-add over a row slice
/// (which the compiler vectorises for the simple types).
pub fn generic<T: Element>(a: &TileArgs<'_, T>, out: &mut [T]) {
    for r in 0..a.th {
        let out_row = &mut out[r * a.out_stride..r * a.out_stride + a.tw];
        out_row.fill(T::zero());
        for i in 0..a.kh {
            let srow = a.rows[r + i];
            for j in 0..a.kw {
                let w = a.taps[i * a.kw + j];
                for (o, &x) in out_row.iter_mut().zip(&srow[j..j + a.tw]) {
                    *o = o.mul_add(x, w);
                }
            }
        }
    }
}

macro_rules! plain_row_kernel {
    ($($t:ty),*) => {$(impl RowKernel for $t {})*};
}
plain_row_kernel!(
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
    num_complex::Complex<f32>,
    num_complex::Complex<f64>
);

#[cfg(target_arch = "x86_64")]
macro_rules! avx2_row_kernel {
    ($t:ty, $name:ident, $lanes:expr, $vec:ty, $zero:ident, $bcast:ident, $load:ident, $fma:ident, $store:ident) => {
        /// AVX2+FMA version of [`generic`] for this element type.
        ///
        /// Output rows go in pairs: input row `r + i` serves kernel row `i`
        /// of output row `r` and kernel row `i − 1` of row `r + 1`, so each
        /// loaded vector feeds two FMAs (2 × 4 accumulators). Columns left
        /// over, and an odd last row, go through the one-row path (8
        /// accumulators). Each output element sums its taps in the same
        /// order on every path.
        ///
        /// # Safety
        /// The CPU must support AVX2 and FMA (the buffer sizes are checked).
        #[target_feature(enable = "avx2,fma")]
        unsafe fn $name(a: &TileArgs<'_, $t>, out: &mut [$t]) {
            use std::arch::x86_64::*;
            const L: usize = $lanes;
            assert!(a.rows.len() >= a.th + a.kh - 1);
            assert!(a.rows.iter().all(|row| row.len() >= a.tw + a.kw - 1));
            assert!(a.taps.len() == a.kh * a.kw);
            assert!(a.th == 0 || out.len() >= (a.th - 1) * a.out_stride + a.tw);
            let wp = a.taps.as_ptr();
            let op = out.as_mut_ptr();

            // One output row from column `c` on.
            // SAFETY (for every pointer access below): rows read are
            // r + i < th + kh − 1 and columns c + j + b·L + L − 1 <
            // tw + kw − 1 (the loops keep c + block ≤ tw and j < kw), within
            // each row by the asserts; tap indices are below kh·kw; output
            // offsets are r·out_stride + c + block ≤ (th − 1)·out_stride + tw.
            let one_row = |r: usize, mut c: usize| {
                const B: usize = 8;
                // SAFETY: r < th, so r·out_stride is within `out` (asserted).
                let orow = unsafe { op.add(r * a.out_stride) };
                while c + L * B <= a.tw {
                    let mut acc: [$vec; B] = [$zero(); B];
                    for i in 0..a.kh {
                        // SAFETY: columns c + j + b·L + L − 1 < tw + kw − 1
                        // (c + L·B ≤ tw, j < kw) of row r + i < th + kh − 1,
                        // and taps i·kw + j < kh·kw, all within the asserted
                        // lengths; the CPU has AVX2+FMA (this fn's contract).
                        unsafe {
                            let srow = a.rows[r + i].as_ptr().add(c);
                            let wrow = wp.add(i * a.kw);
                            for j in 0..a.kw {
                                let w = $bcast(&*wrow.add(j));
                                let p = srow.add(j);
                                for (b, acc_b) in acc.iter_mut().enumerate() {
                                    *acc_b = $fma($load(p.add(b * L)), w, *acc_b);
                                }
                            }
                        }
                    }
                    for (b, acc_b) in acc.iter().enumerate() {
                        // SAFETY: r·out_stride + c + b·L + L ≤ r·out_stride + tw,
                        // within `out` (asserted).
                        unsafe { $store(orow.add(c + b * L), *acc_b) };
                    }
                    c += L * B;
                }
                while c + L <= a.tw {
                    let mut acc = $zero();
                    for i in 0..a.kh {
                        // SAFETY: as in the 8-vector loop with c + L ≤ tw.
                        unsafe {
                            let srow = a.rows[r + i].as_ptr().add(c);
                            let wrow = wp.add(i * a.kw);
                            for j in 0..a.kw {
                                acc = $fma($load(srow.add(j)), $bcast(&*wrow.add(j)), acc);
                            }
                        }
                    }
                    // SAFETY: c + L ≤ tw, within row r of `out` (asserted).
                    unsafe { $store(orow.add(c), acc) };
                    c += L;
                }
                for cc in c..a.tw {
                    let mut acc: $t = 0.0;
                    for i in 0..a.kh {
                        for j in 0..a.kw {
                            let x = a.rows[r + i][cc + j];
                            acc = x.mul_add(a.taps[i * a.kw + j], acc);
                        }
                    }
                    // SAFETY: cc < tw, within row r of `out` (asserted).
                    unsafe { *orow.add(cc) = acc };
                }
            };

            let mut r = 0;
            while r + 2 <= a.th {
                const B: usize = 4;
                let mut c = 0;
                while c + L * B <= a.tw {
                    let mut top: [$vec; B] = [$zero(); B];
                    let mut bottom: [$vec; B] = [$zero(); B];
                    for i in 0..=a.kh {
                        // SAFETY: rows r + i ≤ r + kh < th + kh − 1 (r + 2 ≤
                        // th), columns c + j + b·L + L − 1 < tw + kw − 1 (c +
                        // L·B ≤ tw, j < kw) and taps below kh·kw, within the
                        // asserted lengths; the CPU has AVX2+FMA.
                        unsafe {
                            let srow = a.rows[r + i].as_ptr().add(c);
                            for j in 0..a.kw {
                                let p = srow.add(j);
                                let x: [$vec; B] = std::array::from_fn(|b| $load(p.add(b * L)));
                                if i < a.kh {
                                    let w = $bcast(&*wp.add(i * a.kw + j));
                                    for b in 0..B {
                                        top[b] = $fma(x[b], w, top[b]);
                                    }
                                }
                                if i >= 1 {
                                    let w = $bcast(&*wp.add((i - 1) * a.kw + j));
                                    for b in 0..B {
                                        bottom[b] = $fma(x[b], w, bottom[b]);
                                    }
                                }
                            }
                        }
                    }
                    for b in 0..B {
                        // SAFETY: rows r + 1 < th and columns c + b·L + L ≤ tw
                        // are within `out` (asserted).
                        unsafe {
                            $store(op.add(r * a.out_stride + c + b * L), top[b]);
                            $store(op.add((r + 1) * a.out_stride + c + b * L), bottom[b]);
                        }
                    }
                    c += L * B;
                }
                one_row(r, c);
                one_row(r + 1, c);
                r += 2;
            }
            if r < a.th {
                one_row(r, 0);
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
avx2_row_kernel!(
    f32,
    rows_f32_avx2,
    8,
    std::arch::x86_64::__m256,
    _mm256_setzero_ps,
    _mm256_broadcast_ss,
    _mm256_loadu_ps,
    _mm256_fmadd_ps,
    _mm256_storeu_ps
);
#[cfg(target_arch = "x86_64")]
avx2_row_kernel!(
    f64,
    rows_f64_avx2,
    4,
    std::arch::x86_64::__m256d,
    _mm256_setzero_pd,
    _mm256_broadcast_sd,
    _mm256_loadu_pd,
    _mm256_fmadd_pd,
    _mm256_storeu_pd
);

macro_rules! float_row_kernel {
    ($t:ty, $avx2:ident) => {
        impl RowKernel for $t {
            fn correlate_rows(a: &TileArgs<'_, Self>, out: &mut [Self], level: Level) {
                #[cfg(target_arch = "x86_64")]
                if level >= Level::Avx2Fma && crate::simd::level() >= Level::Avx2Fma {
                    // SAFETY: the CPU supports AVX2+FMA (checked by
                    // simd::level); the buffer sizes are asserted inside.
                    unsafe { $avx2(a, out) };
                    return;
                }
                let _ = level;
                generic(a, out);
            }

            fn rank_one(taps: &[Self], kh: usize, kw: usize) -> Option<(Vec<Self>, Vec<Self>)> {
                let wide: Vec<f64> = taps.iter().map(|&t| f64::from(t)).collect();
                let (column, row) = rank_one_f64(&wide, kh, kw, f64::from(<$t>::EPSILON))?;
                // The factors' magnitudes are those of the taps (the column
                // is at most 1 in magnitude), so the narrowing cannot overflow.
                Some((
                    column.into_iter().map(|v| v as $t).collect(),
                    row.into_iter().map(|v| v as $t).collect(),
                ))
            }
        }
    };
}
float_row_kernel!(f32, rows_f32_avx2);
float_row_kernel!(f64, rows_f64_avx2);

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_add(77);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) as f64 / (1u64 << 31) as f64) - 0.5
            })
            .collect()
    }

    /// Every level writes exactly the tile: NaN-prefilled outputs with a gap
    /// after each row, compared with a naive sum; the gaps stay NaN.
    fn check<T: RowKernel + Into<f64> + From<f32>>(tol: f64) {
        let levels: Vec<Level> = [Level::Scalar, Level::Avx2Fma]
            .into_iter()
            .filter(|l| *l <= crate::simd::level())
            .collect();
        for (th, tw, kh, kw) in [
            (1, 1, 1, 1),
            (3, 7, 2, 3),
            (2, 33, 3, 1),
            (5, 65, 1, 4),
            (4, 100, 3, 3),
            (1, 131, 1, 9),
        ] {
            let sw = tw + kw - 1;
            let data: Vec<T> = pseudo((th + kh - 1) * sw, tw as u64)
                .into_iter()
                .map(|v| T::from(v as f32))
                .collect();
            let taps: Vec<T> = pseudo(kh * kw, 5)
                .into_iter()
                .map(|v| T::from(v as f32))
                .collect();
            let rows: Vec<&[T]> = data.chunks(sw).collect();
            let out_stride = tw + 3;
            let args = TileArgs {
                rows: &rows,
                taps: &taps,
                kh,
                kw,
                th,
                tw,
                out_stride,
            };
            for &level in &levels {
                let mut out = vec![T::from(f32::NAN); th * out_stride];
                T::correlate_rows(&args, &mut out, level);
                for r in 0..th {
                    for c in 0..out_stride {
                        let got: f64 = out[r * out_stride + c].into();
                        if c >= tw {
                            assert!(got.is_nan(), "wrote outside the tile at ({r}, {c})");
                            continue;
                        }
                        let mut want = 0.0f64;
                        for i in 0..kh {
                            for j in 0..kw {
                                let x: f64 = rows[r + i][c + j].into();
                                let w: f64 = taps[i * kw + j].into();
                                want += x * w;
                            }
                        }
                        assert!(
                            (got - want).abs() <= tol,
                            "{level:?} ({th}, {tw}, {kh}, {kw}) at ({r}, {c}): {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_level_writes_exactly_the_tile() {
        check::<f32>(1e-5);
        check::<f64>(1e-6);
    }

    /// The separable tile on every level: NaN-prefilled output with a gap
    /// after each row, against the naive sum with the outer-product kernel.
    #[test]
    fn separable_tile_writes_exactly_the_tile() {
        let levels: Vec<Level> = [Level::Scalar, Level::Avx2Fma]
            .into_iter()
            .filter(|l| *l <= crate::simd::level())
            .collect();
        for (th, tw, kh, kw) in [(1, 1, 3, 3), (3, 7, 4, 3), (5, 65, 3, 9), (64, 131, 7, 5)] {
            let sw = tw + kw - 1;
            let data: Vec<f64> = pseudo((th + kh - 1) * sw, tw as u64);
            let column = pseudo(kh, 3);
            let row = pseudo(kw, 4);
            let rows: Vec<&[f64]> = data.chunks(sw).collect();
            let taps: Vec<f64> = (0..kh * kw).map(|t| column[t / kw] * row[t % kw]).collect();
            let out_stride = tw + 2;
            let args = TileArgs {
                rows: &rows,
                taps: &taps,
                kh,
                kw,
                th,
                tw,
                out_stride,
            };
            for &level in &levels {
                let mut out = vec![f64::NAN; th * out_stride];
                let mut tmp = Vec::new();
                correlate_rows_separable(&args, &column, &row, &mut tmp, &mut out, level).unwrap();
                for r in 0..th {
                    for c in 0..out_stride {
                        let got = out[r * out_stride + c];
                        if c >= tw {
                            assert!(got.is_nan(), "wrote outside the tile at ({r}, {c})");
                            continue;
                        }
                        let mut want = 0.0;
                        for i in 0..kh {
                            for j in 0..kw {
                                want += rows[r + i][c + j] * taps[i * kw + j];
                            }
                        }
                        assert!(
                            (got - want).abs() <= 1e-12,
                            "{level:?} ({th}, {tw}, {kh}, {kw}) at ({r}, {c}): {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn rank_one_rule() {
        let column = [0.5, -1.0, 2.0];
        let row = [1.0, 3.0, -0.25, 4.0, -2.0, 0.125, 1.5, 5.0];
        let taps: Vec<f64> = (0..24).map(|t| column[t / 8] * row[t % 8]).collect();
        let (c, r) = rank_one_f64(&taps, 3, 8, f64::EPSILON).unwrap();
        for t in 0..24 {
            assert!((c[t / 8] * r[t % 8] - taps[t]).abs() <= 1e-15 * 8.0);
        }
        let mut near = taps.clone();
        near[19] *= 1.0 + 1e-13;
        assert!(rank_one_f64(&near, 3, 8, f64::EPSILON).is_none());
        assert!(rank_one_f64(&near, 3, 8, f64::from(f32::EPSILON)).is_some());
        assert!(
            rank_one_f64(&taps, 3, 7, f64::EPSILON).is_none(),
            "length mismatch"
        );
        // The size rule: 3 × 4 costs 12 direct against 7 split.
        let small: Vec<f64> = (0..12).map(|t| column[t / 4] * row[t % 4]).collect();
        assert!(rank_one_f64(&small, 3, 4, f64::EPSILON).is_none());
        assert!(f32::rank_one(&[1.0f32; 16], 4, 4).is_some());
        assert!(
            f32::rank_one(&[1.0f32; 9], 3, 3).is_none(),
            "3 x 3 stays direct"
        );
        assert!(i32::rank_one(&[1i32; 16], 4, 4).is_none());
    }
}
