//! Row kernels: a 'valid' correlation over a tile's input rows.
//!
//! The generic kernel serves every element type and is the reference; for
//! float32 and float64 an AVX2+FMA kernel runs when [`crate::simd::level`]
//! allows it. It keeps eight vector accumulators (64 float32 or 32 float64
//! output columns) in registers across all `kh · kw` taps: eight independent
//! FMA chains cover the FMA latency on two FMA ports, and each tap costs one
//! unaligned load per FMA plus one broadcast per eight FMAs.

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
/// [`RowKernel::correlate_rows`] with SIMD kernels.
///
/// # Safety
/// The all-zero bit pattern must be a valid value of the type (the engine
/// takes its output buffer from the allocator's zeroed memory). Implemented
/// for the primitive numeric types and complex pairs of floats only.
pub unsafe trait RowKernel: Element {
    /// Computes the tile into `out` (row `r` at `out[r * out_stride..][..tw]`).
    fn correlate_rows(a: &TileArgs<'_, Self>, out: &mut [Self], level: Level) {
        let _ = level;
        generic(a, out);
    }
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
    // SAFETY: primitive integers and complex pairs of floats are valid
    // (and zero) when all bits are zero.
    ($($t:ty),*) => {$(unsafe impl RowKernel for $t {})*};
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
                let orow = unsafe { op.add(r * a.out_stride) };
                while c + L * B <= a.tw {
                    let mut acc: [$vec; B] = [$zero(); B];
                    for i in 0..a.kh {
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
                        unsafe { $store(orow.add(c + b * L), *acc_b) };
                    }
                    c += L * B;
                }
                while c + L <= a.tw {
                    let mut acc = $zero();
                    for i in 0..a.kh {
                        unsafe {
                            let srow = a.rows[r + i].as_ptr().add(c);
                            let wrow = wp.add(i * a.kw);
                            for j in 0..a.kw {
                                acc = $fma($load(srow.add(j)), $bcast(&*wrow.add(j)), acc);
                            }
                        }
                    }
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
        // SAFETY: all-zero bits are the float 0.0.
        unsafe impl RowKernel for $t {
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
}
