//! Row kernels: a 'valid' correlation over a tile's input rows.
//!
//! The generic kernel serves every element type and is the reference; for
//! float32 and float64 an AVX2+FMA kernel runs when [`crate::simd::level`]
//! allows it. It keeps eight vector accumulators (64 float32 or 32 float64
//! output columns) in registers across all `kh · kw` taps: eight independent
//! FMA chains cover the FMA latency on two FMA ports, and each tap costs one
//! unaligned load per FMA plus one broadcast per eight FMAs.
//!
//! Two AVX2 kernels take the shapes where that kernel's loop overhead and
//! loads dominate: 3 × 3 and 5 × 5 kernels run on a kernel with the kernel
//! shape known at compile time ([`SMALL_SHAPES`]: output rows in registers,
//! each loaded input vector reused across kernel rows, the tap loops
//! unrolled; same summation order, so the same bits as the general kernel),
//! and one-row kernels of at least two vectors of taps (long 1-D
//! signals, the separable path's first pass) on a kernel that shares each
//! loaded vector among six taps of one phase (taps summed by phase).

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
    ($t:ty, $name:ident, $lanes:expr, $vec:ty, $zero:ident, $bcast:ident, $load:ident, $fma:ident, $store:ident, $feature:literal) => {
        /// SIMD version of [`generic`] for this element type (AVX2+FMA or
        /// AVX-512, by `$feature` and the vector type).
        ///
        /// Output rows go in pairs: input row `r + i` serves kernel row `i`
        /// of output row `r` and kernel row `i − 1` of row `r + 1`, so each
        /// loaded vector feeds two FMAs (2 × 4 accumulators). Columns left
        /// over, and an odd last row, go through the one-row path (8
        /// accumulators). Each output element sums its taps in the same
        /// order on every path.
        ///
        /// # Safety
        /// The CPU must support `$feature` (the buffer sizes are checked).
        #[target_feature(enable = $feature)]
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

/// Kernel shapes with a dedicated register-blocked kernel, and its blocking:
/// `(kh, kw, rows, vectors)`, chosen by timing every blocking from 1 × 4 to
/// 6 × 1 on a 48 × 1024 float32 tile in cache (ns per output, general
/// kernel → dedicated one): 3 × 3 0.55 → 0.29 (two rows × three vectors:
/// each loaded input vector serves both rows, the taps are broadcast from
/// the stack), 5 × 5 1.00 → 0.82 (one row × four vectors, the loops
/// unrolled). At 7 × 7 every dedicated blocking ran slower than the general
/// kernel (1.29, already at the FMA ports' limit of 49 / 16 cycles per
/// output, against 1.6 to 2.2: the unrolled body outgrows the micro-op
/// cache), so 7 × 7 and larger stay on it.
pub const SMALL_SHAPES: [(usize, usize, usize, usize); 2] = [(3, 3, 2, 3), (5, 5, 1, 4)];

/// Most input rows a block of the small kernels reads (`rows + kh − 1`).
#[cfg(target_arch = "x86_64")]
const SMALL_MAX_SPAN: usize = 16;

/// Repeats `body` with `S` a constant for each listed value (up to
/// [`SMALL_MAX_SPAN`]) that passes the condition.
#[cfg(target_arch = "x86_64")]
macro_rules! unroll_rows {
    ($s:ident in [$($n:literal)*] if $cond:expr => $body:block) => {
        $({
            const $s: usize = $n;
            if $cond $body
        })*
    };
}

#[cfg(target_arch = "x86_64")]
macro_rules! avx2_small_kernel {
    ($t:ty, $name:ident, $block:ident, $general:ident, $lanes:expr, $vec:ty, $zero:ident, $set1:ident, $load:ident, $fma:ident, $store:ident, $feature:literal) => {
        /// One `R × B`-vector block of [`$name`] at column `c` of the output
        /// rows `r..r + R`, whose input rows start at `src[0..R + KH − 1]`.
        ///
        /// # Safety
        /// The CPU must support `$feature`; each `src[s]` must hold at
        /// least `c + B·L + KW − 1` elements and `out` must have room for
        /// `(R − 1)·out_stride + c + B·L` elements.
        #[inline]
        #[target_feature(enable = $feature)]
        unsafe fn $block<const KH: usize, const KW: usize, const R: usize, const B: usize>(
            src: &[*const $t; SMALL_MAX_SPAN],
            taps: &[[$vec; KW]; KH],
            c: usize,
            out: *mut $t,
            out_stride: usize,
        ) {
            use std::arch::x86_64::*;
            const L: usize = $lanes;
            let mut acc = [[$zero(); B]; R];
            // The input rows as compile-time indices, so that the test of
            // which output rows a row serves folds away.
            unroll_rows!(S in [0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15] if S < R + KH - 1 => {
                let row = src[S];
                for j in 0..KW {
                    let x: [$vec; B] = std::array::from_fn(|b| {
                        // SAFETY: within row `S` by this fn's contract.
                        unsafe { $load(row.add(c + j + b * L)) }
                    });
                    for (rr, acc_r) in acc.iter_mut().enumerate() {
                        if S >= rr && S - rr < KH {
                            let w = taps[S - rr][j];
                            for (acc_b, &x_b) in acc_r.iter_mut().zip(&x) {
                                *acc_b = $fma(x_b, w, *acc_b);
                            }
                        }
                    }
                }
            });
            for (rr, acc_r) in acc.iter().enumerate() {
                for (b, &acc_b) in acc_r.iter().enumerate() {
                    // SAFETY: within `out` by this fn's contract.
                    unsafe { $store(out.add(rr * out_stride + c + b * L), acc_b) };
                }
            }
        }

        /// SIMD kernel (AVX2+FMA or AVX-512, by `$feature`) for a `KH × KW`
        /// kernel known at compile time:
        /// blocks of `R` output rows × `B` vectors of columns (then one
        /// vector), the tap loops unrolled. Input row `r + s` is loaded once
        /// per column shift `j` and serves every output row `r + s − i` of
        /// the block with tap `(i, j)`. Each output sums its taps in C order
        /// (`i`, then `j`), as [`generic`] and the general kernel do, so
        /// every path gives the same bits. Rows left over after the full
        /// blocks, and the last columns short of a vector, go through the
        /// general kernel.
        ///
        /// # Safety
        /// The CPU must support `$feature` (the buffer sizes are checked).
        #[target_feature(enable = $feature)]
        unsafe fn $name<const KH: usize, const KW: usize, const R: usize, const B: usize>(
            a: &TileArgs<'_, $t>,
            out: &mut [$t],
        ) {
            use std::arch::x86_64::*;
            const L: usize = $lanes;
            assert!(a.kh == KH && a.kw == KW && KH >= 1 && KW >= 1 && R >= 1 && B >= 1);
            assert!(R + KH - 1 <= SMALL_MAX_SPAN);
            assert!(a.rows.len() >= a.th + KH - 1);
            assert!(a.rows.iter().all(|row| row.len() >= a.tw + KW - 1));
            assert!(a.taps.len() == KH * KW);
            assert!(a.th == 0 || out.len() >= (a.th - 1) * a.out_stride + a.tw);
            let taps: [[$vec; KW]; KH] =
                std::array::from_fn(|i| std::array::from_fn(|j| $set1(a.taps[i * KW + j])));
            let full_rows = a.th / R * R;
            let full_cols = a.tw / L * L;
            if full_cols == 0 || full_rows == 0 {
                // SAFETY: the CPU has AVX2+FMA (this fn's contract).
                unsafe { $general(a, out) };
                return;
            }
            let op = out.as_mut_ptr();
            let mut r = 0;
            while r < full_rows {
                let mut src = [std::ptr::null::<$t>(); SMALL_MAX_SPAN];
                for (s, p) in src.iter_mut().enumerate().take(R + KH - 1) {
                    *p = a.rows[r + s].as_ptr();
                }
                // SAFETY: r + R ≤ th, so the block's output rows start
                // within `out` (asserted).
                let orow = unsafe { op.add(r * a.out_stride) };
                let mut c = 0;
                // SAFETY (both loops): input rows r + s < th + KH − 1 hold at
                // least tw + KW − 1 elements (asserted) and the blocks end at
                // column c + B·L ≤ tw (or c + L ≤ tw); the output rows r..r +
                // R ≤ th hold those columns; the CPU has AVX2+FMA.
                while c + B * L <= a.tw {
                    // SAFETY: see above.
                    unsafe { $block::<KH, KW, R, B>(&src, &taps, c, orow, a.out_stride) };
                    c += B * L;
                }
                while c + L <= a.tw {
                    // SAFETY: see above.
                    unsafe { $block::<KH, KW, R, 1>(&src, &taps, c, orow, a.out_stride) };
                    c += L;
                }
                r += R;
            }
            if full_cols < a.tw {
                let shifted: Vec<&[$t]> = a.rows[..full_rows + KH - 1]
                    .iter()
                    .map(|row| &row[full_cols..])
                    .collect();
                let right = TileArgs {
                    rows: &shifted,
                    th: full_rows,
                    tw: a.tw - full_cols,
                    ..*a
                };
                // SAFETY: the CPU has AVX2+FMA; the sub-tile's rows and
                // output lie inside this tile's.
                unsafe { $general(&right, &mut out[full_cols..]) };
            }
            if full_rows < a.th {
                let bottom = TileArgs {
                    rows: &a.rows[full_rows..],
                    th: a.th - full_rows,
                    ..*a
                };
                // SAFETY: as above.
                unsafe { $general(&bottom, &mut out[full_rows * a.out_stride..]) };
            }
        }
    };
}

/// Accumulators (vectors of output columns) of the long one-row kernel.
#[cfg(target_arch = "x86_64")]
const LONG_VECTORS: usize = 8;
/// Taps held in registers at a time by the long one-row kernel.
#[cfg(target_arch = "x86_64")]
const LONG_TAPS: usize = 6;

#[cfg(target_arch = "x86_64")]
macro_rules! avx2_long_kernel {
    ($t:ty, $name:ident, $chunk:ident, $general:ident, $lanes:expr, $vec:ty, $zero:ident, $set1:ident, $load:ident, $fma:ident, $store:ident) => {
        /// `G` taps `j = q + L·(g0 + g)` of one phase `q` on the
        /// `LONG_VECTORS` accumulators at column `c`: vector `m` of the
        /// input from `c + q + L·g0` is tap `g`'s operand for accumulator
        /// `m − g`, so `LONG_VECTORS + G − 1` loads and `G` broadcasts feed
        /// `LONG_VECTORS · G` multiply-adds.
        ///
        /// # Safety
        /// The CPU must support AVX2 and FMA; `row` must hold the columns
        /// `c .. c + L·LONG_VECTORS + q + L·(g0 + G − 1)` and `taps` the
        /// index `q + L·(g0 + G − 1)`.
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn $chunk<const G: usize>(
            acc: &mut [$vec; LONG_VECTORS],
            row: *const $t,
            taps: *const $t,
            c: usize,
            q: usize,
            g0: usize,
        ) {
            use std::arch::x86_64::*;
            const L: usize = $lanes;
            let w: [$vec; G] = std::array::from_fn(|g| {
                // SAFETY: tap indices below q + L·(g0 + G) ≤ the contract's.
                unsafe { $set1(*taps.add(q + L * (g0 + g))) }
            });
            // SAFETY: vector m ≤ LONG_VECTORS + G − 2 ends at column
            // c + q + L·(g0 + m) + L − 1, within the contract's range.
            let base = unsafe { row.add(c + q + L * g0) };
            for m in 0..LONG_VECTORS + G - 1 {
                // SAFETY: see above.
                let v = unsafe { $load(base.add(L * m)) };
                for (g, &w_g) in w.iter().enumerate() {
                    if m >= g && m - g < LONG_VECTORS {
                        acc[m - g] = $fma(v, w_g, acc[m - g]);
                    }
                }
            }
        }

        /// AVX2+FMA kernel for one-row kernels (`kh = 1`) of at least `2L`
        /// taps, as for long 1-D signals and the first pass of the
        /// separable path. The general kernel loads each input vector once
        /// per tap (plus a broadcast per eight); here the taps go by phase
        /// `q = j mod L`, and within a phase six at a time share their input
        /// vectors across the eight accumulators (19 loads for 48
        /// multiply-adds). Each output sums its taps in the order of `q`,
        /// then `j`, the same on every tile and thread count; the columns
        /// short of a block go through the general kernel (C order).
        ///
        /// # Safety
        /// The CPU must support AVX2 and FMA (the buffer sizes are checked).
        #[target_feature(enable = "avx2,fma")]
        unsafe fn $name(a: &TileArgs<'_, $t>, out: &mut [$t]) {
            use std::arch::x86_64::*;
            const L: usize = $lanes;
            const W: usize = L * LONG_VECTORS;
            assert!(a.kh == 1 && a.kw >= 1);
            assert!(a.rows.len() >= a.th);
            assert!(
                a.rows
                    .iter()
                    .take(a.th)
                    .all(|row| row.len() >= a.tw + a.kw - 1)
            );
            assert!(a.taps.len() == a.kw);
            assert!(a.th == 0 || out.len() >= (a.th - 1) * a.out_stride + a.tw);
            let kw = a.kw;
            let full_cols = a.tw / W * W;
            let op = out.as_mut_ptr();
            let tp = a.taps.as_ptr();
            for r in 0..a.th {
                let row = a.rows[r].as_ptr();
                let mut c = 0;
                while c < full_cols {
                    let mut acc = [$zero(); LONG_VECTORS];
                    for q in 0..L.min(kw) {
                        // Taps q, q + L, ... below kw.
                        let count = (kw - q).div_ceil(L);
                        let mut g0 = 0;
                        // SAFETY (all chunks): the last tap read is
                        // q + L·(count − 1) < kw, and the last column
                        // c + W − 1 + that tap < tw + kw − 1, within the
                        // asserted row length; the CPU has AVX2+FMA.
                        while g0 + LONG_TAPS <= count {
                            // SAFETY: see above.
                            unsafe { $chunk::<LONG_TAPS>(&mut acc, row, tp, c, q, g0) };
                            g0 += LONG_TAPS;
                        }
                        while g0 + 2 <= count {
                            // SAFETY: see above.
                            unsafe { $chunk::<2>(&mut acc, row, tp, c, q, g0) };
                            g0 += 2;
                        }
                        if g0 < count {
                            // SAFETY: see above.
                            unsafe { $chunk::<1>(&mut acc, row, tp, c, q, g0) };
                        }
                    }
                    for (b, &acc_b) in acc.iter().enumerate() {
                        // SAFETY: r·out_stride + c + b·L + L ≤ r·out_stride
                        // + tw, within `out` (asserted).
                        unsafe { $store(op.add(r * a.out_stride + c + b * L), acc_b) };
                    }
                    c += W;
                }
            }
            if full_cols < a.tw {
                let shifted: Vec<&[$t]> =
                    a.rows[..a.th].iter().map(|row| &row[full_cols..]).collect();
                let right = TileArgs {
                    rows: &shifted,
                    tw: a.tw - full_cols,
                    ..*a
                };
                // SAFETY: the CPU has AVX2+FMA; the sub-tile lies inside
                // this tile.
                unsafe { $general(&right, &mut out[full_cols..]) };
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
avx2_long_kernel!(
    f32,
    long_f32_avx2,
    long_chunk_f32_avx2,
    rows_f32_avx2,
    8,
    std::arch::x86_64::__m256,
    _mm256_setzero_ps,
    _mm256_set1_ps,
    _mm256_loadu_ps,
    _mm256_fmadd_ps,
    _mm256_storeu_ps
);
#[cfg(target_arch = "x86_64")]
avx2_long_kernel!(
    f64,
    long_f64_avx2,
    long_chunk_f64_avx2,
    rows_f64_avx2,
    4,
    std::arch::x86_64::__m256d,
    _mm256_setzero_pd,
    _mm256_set1_pd,
    _mm256_loadu_pd,
    _mm256_fmadd_pd,
    _mm256_storeu_pd
);

#[cfg(target_arch = "x86_64")]
avx2_small_kernel!(
    f32,
    small_f32_avx2,
    small_block_f32_avx2,
    rows_f32_avx2,
    8,
    std::arch::x86_64::__m256,
    _mm256_setzero_ps,
    _mm256_set1_ps,
    _mm256_loadu_ps,
    _mm256_fmadd_ps,
    _mm256_storeu_ps,
    "avx2,fma"
);
#[cfg(target_arch = "x86_64")]
avx2_small_kernel!(
    f64,
    small_f64_avx2,
    small_block_f64_avx2,
    rows_f64_avx2,
    4,
    std::arch::x86_64::__m256d,
    _mm256_setzero_pd,
    _mm256_set1_pd,
    _mm256_loadu_pd,
    _mm256_fmadd_pd,
    _mm256_storeu_pd,
    "avx2,fma"
);

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
    _mm256_storeu_ps,
    "avx2,fma"
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
    _mm256_storeu_pd,
    "avx2,fma"
);

/// `_mm512_set1_ps` from a reference, the form the row kernel's
/// broadcast takes (`_mm256_broadcast_ss` for AVX2).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn broadcast512_ps(x: &f32) -> std::arch::x86_64::__m512 {
    // SAFETY: only inlined into functions built with AVX-512 F, which the
    // CPU has (their contract).
    unsafe { std::arch::x86_64::_mm512_set1_ps(*x) }
}

/// `_mm512_set1_pd` from a reference (see [`broadcast512_ps`]).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn broadcast512_pd(x: &f64) -> std::arch::x86_64::__m512d {
    // SAFETY: as for broadcast512_ps.
    unsafe { std::arch::x86_64::_mm512_set1_pd(*x) }
}

// The AVX-512 kernels: the AVX2 kernels' code on 16- (8-) lane vectors.
// Each output sums its taps with one fused multiply-add each in the same
// order, so they give the AVX2 kernels' bits.
#[cfg(target_arch = "x86_64")]
avx2_small_kernel!(
    f32,
    small_f32_avx512,
    small_block_f32_avx512,
    rows_f32_avx512,
    16,
    std::arch::x86_64::__m512,
    _mm512_setzero_ps,
    _mm512_set1_ps,
    _mm512_loadu_ps,
    _mm512_fmadd_ps,
    _mm512_storeu_ps,
    "avx512f,fma"
);
#[cfg(target_arch = "x86_64")]
avx2_small_kernel!(
    f64,
    small_f64_avx512,
    small_block_f64_avx512,
    rows_f64_avx512,
    8,
    std::arch::x86_64::__m512d,
    _mm512_setzero_pd,
    _mm512_set1_pd,
    _mm512_loadu_pd,
    _mm512_fmadd_pd,
    _mm512_storeu_pd,
    "avx512f,fma"
);
#[cfg(target_arch = "x86_64")]
avx2_row_kernel!(
    f32,
    rows_f32_avx512,
    16,
    std::arch::x86_64::__m512,
    _mm512_setzero_ps,
    broadcast512_ps,
    _mm512_loadu_ps,
    _mm512_fmadd_ps,
    _mm512_storeu_ps,
    "avx512f,fma"
);
#[cfg(target_arch = "x86_64")]
avx2_row_kernel!(
    f64,
    rows_f64_avx512,
    8,
    std::arch::x86_64::__m512d,
    _mm512_setzero_pd,
    broadcast512_pd,
    _mm512_loadu_pd,
    _mm512_fmadd_pd,
    _mm512_storeu_pd,
    "avx512f,fma"
);

macro_rules! float_row_kernel {
    ($t:ty, $avx2:ident, $small:ident, $long:ident, $lanes:expr, $avx512:ident, $small512:ident) => {
        impl RowKernel for $t {
            fn correlate_rows(a: &TileArgs<'_, Self>, out: &mut [Self], level: Level) {
                #[cfg(target_arch = "x86_64")]
                if level >= Level::Avx2Fma && crate::simd::level() >= Level::Avx2Fma {
                    let wide = level >= Level::Avx512 && crate::simd::level() >= Level::Avx512;
                    // SAFETY: the CPU supports AVX2+FMA, and AVX-512 F where
                    // `wide` (checked by simd::level); the buffer sizes are
                    // asserted inside. The match arms follow SMALL_SHAPES.
                    // The long one-row kernel stays on AVX2: its summation
                    // order follows the vector width, and every level keeps
                    // one order.
                    unsafe {
                        match (a.kh, a.kw) {
                            (1, kw) if kw >= 2 * $lanes => $long(a, out),
                            (3, 3) if wide => $small512::<3, 3, 2, 3>(a, out),
                            (5, 5) if wide => $small512::<5, 5, 1, 4>(a, out),
                            _ if wide => $avx512(a, out),
                            (3, 3) => $small::<3, 3, 2, 3>(a, out),
                            (5, 5) => $small::<5, 5, 1, 4>(a, out),
                            _ => $avx2(a, out),
                        }
                    }
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
float_row_kernel!(
    f32,
    rows_f32_avx2,
    small_f32_avx2,
    long_f32_avx2,
    8,
    rows_f32_avx512,
    small_f32_avx512
);
float_row_kernel!(
    f64,
    rows_f64_avx2,
    small_f64_avx2,
    long_f64_avx2,
    4,
    rows_f64_avx512,
    small_f64_avx512
);

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

    /// A tile's input rows (of `tw + kw - 1` elements each) and its taps.
    fn tile_data<T: From<f32>>(
        (th, tw, kh, kw): (usize, usize, usize, usize),
        data_seed: u64,
        taps_seed: u64,
    ) -> (Vec<T>, Vec<T>) {
        let sw = tw + kw - 1;
        let values = |n, seed| {
            pseudo(n, seed)
                .into_iter()
                .map(|v| T::from(v as f32))
                .collect()
        };
        (
            values((th + kh - 1) * sw, data_seed),
            values(kh * kw, taps_seed),
        )
    }

    /// `out` (NaN-prefilled, rows `args.out_stride` apart) holds the naive
    /// sum of the tile within `tol`, and the gap after each row stays NaN.
    fn assert_naive_sum<T: Into<f64> + Copy>(
        args: &TileArgs<'_, T>,
        out: &[T],
        level: Level,
        tol: f64,
    ) {
        let (th, tw, kh, kw) = (args.th, args.tw, args.kh, args.kw);
        for r in 0..th {
            for c in 0..args.out_stride {
                let got: f64 = out[r * args.out_stride + c].into();
                if c >= tw {
                    assert!(got.is_nan(), "wrote outside the tile at ({r}, {c})");
                    continue;
                }
                let mut want = 0.0f64;
                for i in 0..kh {
                    for j in 0..kw {
                        let x: f64 = args.rows[r + i][c + j].into();
                        let w: f64 = args.taps[i * kw + j].into();
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

    /// Every level writes exactly the tile: NaN-prefilled outputs with a gap
    /// after each row, compared with a naive sum; the gaps stay NaN.
    fn check<T: RowKernel + Into<f64> + From<f32>>(tol: f64) {
        let levels: Vec<Level> = [Level::Scalar, Level::Avx2Fma, Level::Avx512]
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
            let (data, taps) = tile_data::<T>((th, tw, kh, kw), tw as u64, 5);
            let rows: Vec<&[T]> = data.chunks(tw + kw - 1).collect();
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
                assert_naive_sum(&args, &out, level, tol);
            }
        }
    }

    #[test]
    fn every_level_writes_exactly_the_tile() {
        check::<f32>(1e-5);
        check::<f64>(1e-6);
    }

    /// Kernels 1..=9 in each dimension (the dedicated small shapes among
    /// them) on tiles of odd sizes around the blocks (one or two rows, four
    /// or three vectors, then single vectors), NaN-prefilled with a gap
    /// after each row: every level matches the naive sum, and where AVX2
    /// runs, the dispatching kernel gives the general AVX2 kernel's bits
    /// (one summation order).
    fn check_every_shape<T>(
        tol: f64,
        long_from: usize,
        #[cfg(target_arch = "x86_64")] general: unsafe fn(&TileArgs<'_, T>, &mut [T]),
    ) where
        T: RowKernel + Into<f64> + From<f32> + std::fmt::Debug,
    {
        let levels: Vec<Level> = [Level::Scalar, Level::Avx2Fma, Level::Avx512]
            .into_iter()
            .filter(|l| *l <= crate::simd::level())
            .collect();
        for kh in 1..=9 {
            for kw in 1..=9 {
                for (th, tw) in [
                    (1, 1),
                    (3, 7),
                    (4, 8),
                    (5, 17),
                    (9, 35),
                    (2, 45),
                    (6, 60),
                    (16, 70),
                    (7, 131),
                ] {
                    let (data, taps) = tile_data::<T>(
                        (th, tw, kh, kw),
                        (tw * 31 + kh * 7 + kw) as u64,
                        (kh * 10 + kw) as u64,
                    );
                    let rows: Vec<&[T]> = data.chunks(tw + kw - 1).collect();
                    let out_stride = tw + 5;
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
                        assert_naive_sum(&args, &out, level, tol);
                        #[cfg(target_arch = "x86_64")]
                        if level >= Level::Avx2Fma && !(kh == 1 && kw >= long_from) {
                            let mut reference = vec![T::from(f32::NAN); th * out_stride];
                            // SAFETY: this level runs only where the CPU has
                            // AVX2+FMA.
                            unsafe { general(&args, &mut reference) };
                            for (index, (a, b)) in out.iter().zip(&reference).enumerate() {
                                let (a, b): (f64, f64) = ((*a).into(), (*b).into());
                                assert!(
                                    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                                    "({th}, {tw}, {kh}, {kw}) at {index}: {a} vs general {b}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn every_kernel_shape_to_nine_matches_the_naive_sum_and_the_general_kernel() {
        assert!(
            SMALL_SHAPES
                .iter()
                .all(|&(kh, kw, r, b)| kh <= 9 && kw <= 9 && r * b > 0)
        );
        check_every_shape::<f32>(
            2e-5,
            16,
            #[cfg(target_arch = "x86_64")]
            rows_f32_avx2,
        );
        check_every_shape::<f64>(
            1e-12,
            8,
            #[cfg(target_arch = "x86_64")]
            rows_f64_avx2,
        );
    }

    /// One-row kernels long enough for the phase-grouped kernel (and
    /// just below), over tile widths around its 8-vector blocks, several
    /// rows, NaN-prefilled with a gap after each row, against the naive sum.
    fn check_long_rows<T: RowKernel + Into<f64> + From<f32>>(tol: f64) {
        let levels: Vec<Level> = [Level::Scalar, Level::Avx2Fma, Level::Avx512]
            .into_iter()
            .filter(|l| *l <= crate::simd::level())
            .collect();
        for kw in [7, 8, 9, 15, 16, 17, 23, 31, 48, 101] {
            for (th, tw) in [
                (1, 1),
                (1, 31),
                (2, 63),
                (1, 64),
                (3, 65),
                (1, 130),
                (2, 200),
            ] {
                let sw = tw + kw - 1;
                let data: Vec<T> = pseudo(th * sw, (tw + kw) as u64)
                    .into_iter()
                    .map(|v| T::from(v as f32))
                    .collect();
                let taps: Vec<T> = pseudo(kw, kw as u64)
                    .into_iter()
                    .map(|v| T::from(v as f32))
                    .collect();
                let rows: Vec<&[T]> = data.chunks(sw).collect();
                let out_stride = tw + 3;
                let args = TileArgs {
                    rows: &rows,
                    taps: &taps,
                    kh: 1,
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
                            let want: f64 = (0..kw)
                                .map(|j| {
                                    Into::<f64>::into(rows[r][c + j]) * Into::<f64>::into(taps[j])
                                })
                                .sum();
                            assert!(
                                (got - want).abs() <= tol,
                                "{level:?} ({th}, {tw}, 1, {kw}) at ({r}, {c}): {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn long_rows_match_the_naive_sum() {
        check_long_rows::<f32>(2e-5);
        check_long_rows::<f64>(1e-12);
    }

    /// The separable tile on every level: NaN-prefilled output with a gap
    /// after each row, against the naive sum with the outer-product kernel.
    #[test]
    fn separable_tile_writes_exactly_the_tile() {
        let levels: Vec<Level> = [Level::Scalar, Level::Avx2Fma, Level::Avx512]
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
