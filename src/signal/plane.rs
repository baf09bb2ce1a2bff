//! The tiled 1-D/2-D correlation engine.
//!
//! The output is cut into tiles whose size depends only on the shape (so
//! every thread count computes the same bits). For each tile the engine
//! copies the input region it needs into a contiguous scratch block, applying
//! the boundary rule on the way ([`crate::pad::source_index`] for 'wrap' and
//! 'symm', the fill value outside for 'fill'); a row kernel
//! ([`super::rows::RowKernel`], SIMD for float32/float64) then computes a
//! 'valid' correlation on the scratch block. The copy costs about
//! `(tile_h + kh − 1) / tile_h` reads per output element, small beside the
//! `kh · kw` multiply-adds, and it keeps the hot loop free of bounds logic.
//!
//! A rank-one kernel (see [`RowKernel::rank_one`], float types only) takes
//! the separable path: each tile is correlated with the kernel's row and
//! then with its column ([`super::rows::correlate_rows_separable`]), `kh +
//! kw` multiply-adds per output plus the `(kh − 1) / th` extra rows of the
//! first pass, in taller and narrower tiles so that the intermediate block
//! stays in L2.

use super::params::CorrelateParams;
use super::rows::{RowKernel, TileArgs, correlate_rows_separable};
use super::taps;
use crate::buffer::{assume_init, try_filled, uninit, zero_fill};
use crate::error::{Error, Result};
use crate::pad::{Boundary, source_index};
use crate::simd::{self, Level};
use crate::threads::split;
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Outputs with fewer rows than this are split along the columns, one row at
/// a time (1-D signals, short and wide images); taller ones in row bands.
const BAND_MIN_ROWS: usize = 32;
/// Rows per band in band mode.
const BAND_ROWS: usize = 16;
/// Columns per tile in band mode: keeps `kh` scratch rows within L1/L2.
const BAND_COLS: usize = 1024;
/// Columns per tile in row mode.
const ROW_COLS: usize = 4096;
/// Rows per band on the separable path: the first pass computes `kh − 1`
/// rows more than the band, so taller bands waste less of it (31-row
/// kernels: 1.5 extra rows of work per output row at 64 against 2.9 at 16).
const SEPARABLE_BAND_ROWS: usize = 64;
/// Columns per tile on the separable path: the intermediate block of
/// `(64 + kh − 1) × 512` float32 (about 190 KiB at kh = 31) and the input
/// rows it reads fit the 512 KiB L2 together.
const SEPARABLE_COLS: usize = 512;

/// Which algorithm the engine may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// The separable path for rank-one float kernels, the direct sum
    /// otherwise.
    Auto,
    /// Always the direct sum (the reference the separable path is tested
    /// against).
    Direct,
}

/// The input index of virtual position `i` on an axis of length `len`, or
/// `None` where the fill value applies.
#[inline]
fn source(i: isize, len: usize, boundary: Boundary) -> Option<usize> {
    if len == 0 {
        None
    } else {
        source_index(i, len, boundary)
    }
}

/// Correlates `input` with `kernel` under `boundary` (with `fill` where the
/// boundary is constant), using the detected SIMD level.
pub fn correlate_plane<T: RowKernel>(
    input: &ArrayView2<'_, T>,
    kernel: &ArrayView2<'_, T>,
    p: &CorrelateParams,
    boundary: Boundary,
    fill: T,
) -> Result<Array2<T>> {
    correlate_plane_with(input, kernel, p, boundary, fill, simd::level(), Path::Auto)
}

/// [`correlate_plane`] on an explicit SIMD level and path (tests run every
/// level the machine supports, on both paths).
pub fn correlate_plane_with<T: RowKernel>(
    input: &ArrayView2<'_, T>,
    kernel: &ArrayView2<'_, T>,
    p: &CorrelateParams,
    boundary: Boundary,
    fill: T,
    level: Level,
    path: Path,
) -> Result<Array2<T>> {
    plane(input, kernel, p, boundary, fill, level, true, path)
}

/// Whether [`correlate_plane`] takes the separable path for this kernel
/// (after the reversal of a convolution, which keeps a kernel rank one).
pub fn is_separable<T: RowKernel>(kernel: &ArrayView2<'_, T>) -> bool {
    let (kh, kw) = kernel.dim();
    let taps = taps(&kernel.view().into_dyn(), false);
    T::rank_one(&taps, kh, kw).is_some()
}

/// The engine; `allow_parallel = false` keeps it on the calling thread (for
/// callers that already split their work across threads).
#[allow(clippy::too_many_arguments)]
pub(crate) fn plane<T: RowKernel>(
    input: &ArrayView2<'_, T>,
    kernel: &ArrayView2<'_, T>,
    p: &CorrelateParams,
    boundary: Boundary,
    fill: T,
    level: Level,
    allow_parallel: bool,
    path: Path,
) -> Result<Array2<T>> {
    let (h, w) = input.dim();
    let (kh, kw) = kernel.dim();
    if p.out_shape.len() != 2 || p.offsets.len() != 2 {
        return Err(Error::value(
            "internal error: a 2-D correlation needs 2-D parameters",
        ));
    }
    let (out_h, out_w) = (p.out_shape[0], p.out_shape[1]);
    if boundary != Boundary::Constant && (h == 0 || w == 0) && out_h * out_w > 0 {
        return Err(Error::value(format!(
            "in1 has shape ({h}, {w}); the boundary rule {boundary:?} needs a non-empty in1 to repeat (use boundary='fill')"
        )));
    }
    let out_len = p.out_len();
    let mut out = uninit::<T>(out_len)?;
    let done = |out| {
        // SAFETY: every path below zero-fills all of `out` (piece by piece,
        // each task its own rows) before computing into it.
        let out = unsafe { assume_init(out) };
        Ok(Array2::from_shape_vec((out_h, out_w), out).expect("length matches shape"))
    };
    if out_len == 0 || kh == 0 || kw == 0 {
        // Empty sums are zero.
        zero_fill(&mut out);
        return done(out);
    }
    let taps = taps(&kernel.view().into_dyn(), p.flip);
    let factors = match path {
        Path::Auto => T::rank_one(&taps, kh, kw),
        Path::Direct => None,
    };
    let (band_rows, band_cols) = if factors.is_some() {
        (SEPARABLE_BAND_ROWS, SEPARABLE_COLS)
    } else {
        (BAND_ROWS, BAND_COLS)
    };
    let ctx = Context {
        input,
        taps: &taps,
        kh,
        kw,
        off_h: p.offsets[0] as isize,
        off_w: p.offsets[1] as isize,
        boundary,
        fill,
        level,
        factors: factors.as_ref().map(|(c, r)| (c.as_slice(), r.as_slice())),
    };
    let parallel = allow_parallel && split(out_len.saturating_mul(kh * kw));
    if out_h < BAND_MIN_ROWS {
        let tiles = column_tiles(out_w, w, kw, p.offsets[1], ROW_COLS);
        for (r, row) in zero_fill(&mut out).chunks_mut(out_w).enumerate() {
            let mut pieces = Vec::with_capacity(tiles.len());
            let mut rest = row;
            for &(c0, tw) in &tiles {
                let (piece, tail) = rest.split_at_mut(tw);
                pieces.push((c0, piece));
                rest = tail;
            }
            let job = |(c0, piece): (usize, &mut [T])| {
                let tw = piece.len();
                let mut scratch = Scratch::default();
                ctx.tile(r, c0, 1, tw, piece, tw, &mut scratch)
            };
            if parallel {
                pieces.into_par_iter().try_for_each(job)?;
            } else {
                pieces.into_iter().try_for_each(job)?;
            }
        }
    } else {
        let tiles = column_tiles(out_w, w, kw, p.offsets[1], band_cols);
        let job = |(b, band): (usize, &mut [MaybeUninit<T>])| {
            let band = zero_fill(band);
            let rows = band.len() / out_w;
            let mut scratch = Scratch::default();
            for &(c0, tw) in &tiles {
                ctx.tile(
                    b * band_rows,
                    c0,
                    rows,
                    tw,
                    &mut band[c0..],
                    out_w,
                    &mut scratch,
                )?;
            }
            Ok(())
        };
        if parallel {
            out.par_chunks_mut(band_rows * out_w)
                .enumerate()
                .try_for_each(job)?;
        } else {
            out.chunks_mut(band_rows * out_w)
                .enumerate()
                .try_for_each(job)?;
        }
    }
    done(out)
}

/// Column tiles `(c0, tw)` covering `0..out_w`: the left border (columns
/// whose window starts before the input), the interior in pieces of at most
/// `chunk` (windows wholly inside, read in place from contiguous rows), and
/// the right border. Depends only on the shape.
fn column_tiles(
    out_w: usize,
    w: usize,
    kw: usize,
    off_w: usize,
    chunk: usize,
) -> Vec<(usize, usize)> {
    // Output column c reads input columns c − off_w ..= c − off_w + kw − 1.
    let a = off_w.min(out_w);
    let b = (w + off_w + 1).saturating_sub(kw).clamp(a, out_w);
    let mut tiles = Vec::new();
    for (start, end) in [(0, a), (a, b), (b, out_w)] {
        let mut c0 = start;
        while c0 < end {
            let tw = chunk.min(end - c0);
            tiles.push((c0, tw));
            c0 += tw;
        }
    }
    tiles
}

struct Context<'a, 'v, T> {
    input: &'a ArrayView2<'v, T>,
    taps: &'a [T],
    kh: usize,
    kw: usize,
    off_h: isize,
    off_w: isize,
    boundary: Boundary,
    fill: T,
    level: Level,
    /// `(column, row)` of a rank-one kernel: the separable path.
    factors: Option<(&'a [T], &'a [T])>,
}

/// A task's buffers, reused across its tiles: the boundary-extended input
/// rows and the separable path's intermediate block.
struct Scratch<T> {
    rows: Vec<T>,
    separable: Vec<T>,
}

impl<T> Default for Scratch<T> {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            separable: Vec::new(),
        }
    }
}

impl<T: RowKernel> Context<'_, '_, T> {
    /// Computes the `th × tw` output tile at (`r0`, `c0`) into `out` (row
    /// stride `out_stride`, starting at the tile's first element), building
    /// its input region in `scratch` (reused across a task's tiles).
    #[allow(clippy::too_many_arguments)]
    fn tile(
        &self,
        r0: usize,
        c0: usize,
        th: usize,
        tw: usize,
        out: &mut [T],
        out_stride: usize,
        buffers: &mut Scratch<T>,
    ) -> Result<()> {
        let scratch = &mut buffers.rows;
        let (h, w) = self.input.dim();
        let sw = tw + self.kw - 1;
        let sh = th + self.kh - 1;
        // Virtual column of window column c is c0 + c − off_w; the columns
        // inside the input form one run [lo, hi).
        let first = c0 as isize - self.off_w;
        let lo = (-first).clamp(0, sw as isize) as usize;
        let hi = (w as isize - first).clamp(lo as isize, sw as isize) as usize;
        let col = |c: usize| source(first + c as isize, w, self.boundary);
        // Rows whose window lies inside a contiguous input row are read in
        // place; the others are built in `scratch` through the boundary rule.
        let sources: Vec<Option<usize>> = (0..sh)
            .map(|sr| source(r0 as isize + sr as isize - self.off_h, h, self.boundary))
            .collect();
        let in_place = |src: Option<usize>| -> Option<&[T]> {
            let r = src?;
            if lo != 0 || hi != sw {
                return None;
            }
            let row = self.input.row(r);
            let s = row.to_slice()?;
            let start = first as usize;
            s.get(start..start + sw)
        };
        let built = sources.iter().filter(|&&r| in_place(r).is_none()).count();
        if scratch.len() < built * sw {
            *scratch = try_filled(built * sw, self.fill)?;
        }
        let gather = self.input.ncols() > 1 && self.input.strides()[1] != 1;
        let cols: Vec<Option<usize>> = if gather {
            (0..sw).map(col).collect()
        } else {
            Vec::new()
        };
        let mut next = scratch[..built * sw].chunks_mut(sw);
        for &src in &sources {
            if in_place(src).is_some() {
                continue;
            }
            let Some(dst) = next.next() else { break };
            let Some(r) = src else {
                dst.fill(self.fill);
                continue;
            };
            let row = self.input.row(r);
            if let Some(src) = row.as_slice() {
                if hi > lo {
                    let s0 = (first + lo as isize) as usize;
                    dst[lo..hi].copy_from_slice(&src[s0..s0 + (hi - lo)]);
                }
                for c in (0..lo).chain(hi..sw) {
                    dst[c] = col(c).map_or(self.fill, |i| src[i]);
                }
            } else if gather {
                for (d, c) in dst.iter_mut().zip(&cols) {
                    *d = c.map_or(self.fill, |i| row[i]);
                }
            } else {
                for (c, d) in dst.iter_mut().enumerate() {
                    *d = col(c).map_or(self.fill, |i| row[i]);
                }
            }
        }
        let mut built_rows = scratch[..built * sw].chunks(sw);
        let mut rows: Vec<&[T]> = Vec::with_capacity(sh);
        for &src in &sources {
            match in_place(src) {
                Some(s) => rows.push(s),
                None => rows.push(built_rows.next().unwrap_or(&[])),
            }
        }
        let args = TileArgs {
            rows: &rows,
            taps: self.taps,
            kh: self.kh,
            kw: self.kw,
            th,
            tw,
            out_stride,
        };
        match self.factors {
            Some((column, row)) => {
                correlate_rows_separable(
                    &args,
                    column,
                    row,
                    &mut buffers.separable,
                    out,
                    self.level,
                )?;
            }
            None => T::correlate_rows(&args, out, self.level),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Mode;
    use crate::signal::direct::tests::naive;
    use crate::signal::params::SameOrigin;
    use ndarray::{Array, ArrayD, s};

    fn pseudo(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_add(12345);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) as f64 / (1u64 << 31) as f64) - 0.5
            })
            .collect()
    }

    /// The boundary-extended input built index by index, for the naive loop.
    fn extended(
        x: &Array2<f64>,
        p: &CorrelateParams,
        kshape: (usize, usize),
        b: Boundary,
        fill: f64,
    ) -> (Array2<f64>, CorrelateParams) {
        let (h, w) = x.dim();
        let eh = p.out_shape[0] + kshape.0 - 1;
        let ew = p.out_shape[1] + kshape.1 - 1;
        let mut e = Array2::from_elem((eh, ew), f64::NAN);
        for ((i, j), v) in e.indexed_iter_mut() {
            let si = source(i as isize - p.offsets[0] as isize, h, b);
            let sj = source(j as isize - p.offsets[1] as isize, w, b);
            *v = match (si, sj) {
                (Some(a), Some(c)) => x[(a, c)],
                _ => fill,
            };
        }
        let mut q = p.clone();
        q.offsets = vec![0, 0];
        (e, q)
    }

    fn check<T: RowKernel>(
        x: &Array2<f64>,
        wgt: &Array2<f64>,
        conv: impl Fn(f64) -> T,
        back: impl Fn(T) -> f64,
        tol: f64,
    ) {
        let levels: Vec<Level> = [Level::Scalar, Level::Avx2Fma, Level::Avx512]
            .into_iter()
            .filter(|l| *l <= simd::level())
            .collect();
        let xt = x.mapv(&conv);
        let wt = wgt.mapv(&conv);
        let kshape = wgt.dim();
        for mode in [Mode::Full, Mode::Same, Mode::Valid] {
            for same in [SameOrigin::Centre, SameOrigin::Left] {
                for flip in [false, true] {
                    let Ok(p) = CorrelateParams::new(
                        &[x.nrows(), x.ncols()],
                        &[kshape.0, kshape.1],
                        mode,
                        same,
                        flip,
                    ) else {
                        continue;
                    };
                    for b in [Boundary::Constant, Boundary::Wrap, Boundary::Symmetric] {
                        let fill_t = conv(if b == Boundary::Constant { 1.25 } else { 0.0 });
                        let fill = back(fill_t);
                        let (e, q) = extended(x, &p, kshape, b, fill);
                        let want: ArrayD<f64> =
                            naive(&e.view().into_dyn(), &wgt.view().into_dyn(), &q);
                        for &level in &levels {
                            for path in [Path::Auto, Path::Direct] {
                                let got = correlate_plane_with(
                                    &xt.view(),
                                    &wt.view(),
                                    &p,
                                    b,
                                    fill_t,
                                    level,
                                    path,
                                )
                                .unwrap();
                                assert_eq!(got.shape(), want.shape());
                                for (a, r) in got.iter().zip(want.iter()) {
                                    let a = back(*a);
                                    assert!(
                                        (a - r).abs() <= tol * (1.0 + r.abs()),
                                        "{:?} {kshape:?} {mode:?} {flip} {b:?} {level:?} {path:?}: {a} vs {r}",
                                        x.dim()
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn every_path_matches_the_naive_loop() {
        // Odd sizes around the SIMD block widths (64 f32 / 32 f64 columns)
        // and the band height, with odd and even kernels.
        let shapes = [
            ((1, 1), (1, 1)),
            ((1, 75), (1, 4)),
            ((3, 70), (2, 5)),
            ((37, 41), (3, 3)),
            ((5, 9), (7, 4)),
            ((40, 133), (6, 5)),
            ((2, 3), (4, 5)),
        ];
        for (seed, ((h, w), (kh, kw))) in shapes.into_iter().enumerate() {
            let x = Array::from_shape_vec((h, w), pseudo(h * w, seed as u64)).unwrap();
            let k = Array::from_shape_vec((kh, kw), pseudo(kh * kw, 7 + seed as u64)).unwrap();
            check::<f64>(&x, &k, |v| v, |v| v, 1e-12);
            check::<f32>(&x, &k, |v| v as f32, f64::from, 1e-5);
            check::<i64>(
                &x.mapv(|v| (v * 20.0).round()),
                &k.mapv(|v| (v * 20.0).round()),
                |v| v as i64,
                |v| v as f64,
                0.0,
            );
        }
    }

    /// The kernel shapes with a dedicated register-blocked row kernel
    /// (3 × 3, 5 × 5, 7 × 7) and their neighbours, on images whose tiles
    /// leave rows and columns over after the kernel's blocks, every mode,
    /// boundary, level and path; integers take the generic kernel.
    #[test]
    fn small_kernel_shapes_match_the_naive_loop() {
        let shapes = [
            ((37, 41), (3, 3)),
            ((35, 77), (5, 5)),
            ((45, 83), (7, 7)),
            ((33, 19), (7, 6)),
            ((9, 10), (3, 3)),
            ((3, 5), (5, 5)),
        ];
        for (seed, ((h, w), (kh, kw))) in shapes.into_iter().enumerate() {
            let x = Array::from_shape_vec((h, w), pseudo(h * w, 90 + seed as u64)).unwrap();
            let k = Array::from_shape_vec((kh, kw), pseudo(kh * kw, 95 + seed as u64)).unwrap();
            check::<f64>(&x, &k, |v| v, |v| v, 1e-12);
            check::<f32>(&x, &k, |v| v as f32, f64::from, 1e-5);
            check::<i32>(
                &x.mapv(|v| (v * 20.0).round()),
                &k.mapv(|v| (v * 20.0).round()),
                |v| v as i32,
                f64::from,
                0.0,
            );
        }
    }

    /// Rank-one kernels over odd sizes, both band heights and both tile
    /// modes, every mode, boundary and level: the separable path matches
    /// the naive loop, and it is the path taken for float kernels only.
    #[test]
    fn separable_kernels_match_the_naive_loop() {
        let shapes = [
            ((37, 41), (4, 4)),
            ((5, 9), (7, 4)),
            ((70, 133), (6, 5)),
            ((131, 67), (9, 3)),
            ((2, 3), (4, 5)),
            ((1, 75), (3, 8)),
        ];
        for (seed, ((h, w), (kh, kw))) in shapes.into_iter().enumerate() {
            let x = Array::from_shape_vec((h, w), pseudo(h * w, 40 + seed as u64)).unwrap();
            let column = pseudo(kh, 50 + seed as u64);
            let row = pseudo(kw, 60 + seed as u64);
            let k = Array2::from_shape_fn((kh, kw), |(i, j)| column[i] * row[j]);
            assert!(is_separable(&k.view()));
            assert!(is_separable(&k.mapv(|v| v as f32).view()));
            check::<f64>(&x, &k, |v| v, |v| v, 1e-12);
            check::<f32>(&x, &k, |v| v as f32, f64::from, 1e-5);
            // Integer kernels keep the exact direct sum.
            let ki = Array2::from_shape_fn((kh, kw), |(i, j)| {
                ((column[i] * 8.0).round() * (row[j] * 8.0).round()) as i64
            });
            assert!(!is_separable(&ki.view()));
            check::<i64>(
                &x.mapv(|v| (v * 20.0).round()),
                &ki.mapv(|v| v as f64),
                |v| v as i64,
                |v| v as f64,
                0.0,
            );
        }
    }

    /// The rule rejects kernels that are rank one only approximately, and
    /// the degenerate ones.
    #[test]
    fn near_separable_kernels_keep_the_direct_sum() {
        let column = pseudo(7, 1);
        let row = pseudo(5, 2);
        let k = Array2::from_shape_fn((7, 5), |(i, j)| column[i] * row[j]);
        assert!(is_separable(&k.view()));
        for (eps, f64_rejects, f32_rejects) in
            [(1e-4, true, true), (1e-5, true, true), (1e-12, true, false)]
        {
            let mut near = k.clone();
            near[(3, 2)] += eps * k.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert_eq!(!is_separable(&near.view()), f64_rejects, "f64 {eps}");
            assert_eq!(
                !is_separable(&near.mapv(|v| v as f32).view()),
                f32_rejects,
                "f32 {eps}"
            );
        }
        let mut nan = k.clone();
        nan[(0, 0)] = f64::NAN;
        assert!(!is_separable(&nan.view()));
        let mut inf = k.clone();
        inf[(0, 0)] = f64::INFINITY;
        assert!(!is_separable(&inf.view()));
        assert!(!is_separable(&Array2::<f64>::zeros((4, 4)).view()));
        // Too small to gain: one side below RANK_ONE_MIN_SIDE.
        assert!(!is_separable(&Array2::<f64>::ones((2, 9)).view()));
        assert!(!is_separable(&Array2::<f64>::ones((3, 3)).view()));
        assert!(is_separable(&Array2::<f64>::ones((3, 9)).view()));
        // Two different rows: rank two.
        let two = Array2::from_shape_fn((4, 4), |(i, j)| if i == j { 1.0 } else { 0.0 });
        assert!(!is_separable(&two.view()));
    }

    #[test]
    fn separable_results_are_identical_for_every_thread_count() {
        let x = Array::from_shape_vec((300, 700), pseudo(210_000, 11)).unwrap();
        let column = pseudo(15, 12);
        let row = pseudo(13, 13);
        let k = Array2::from_shape_fn((15, 13), |(i, j)| (column[i] * row[j]) as f32);
        let x = x.mapv(|v| v as f32);
        let p = CorrelateParams::new(&[300, 700], &[15, 13], Mode::Same, SameOrigin::Left, false)
            .unwrap();
        let run = |threads| {
            crate::threads::run(threads, || {
                correlate_plane(&x.view(), &k.view(), &p, Boundary::Symmetric, 0.0)
            })
            .unwrap()
            .unwrap()
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(3));
    }

    #[test]
    fn strided_and_reversed_inputs() {
        let base = Array::from_shape_vec((30, 80), pseudo(2400, 3)).unwrap();
        let x = base.slice(s![..;-2, 3..;3]).to_owned();
        let view = base.slice(s![..;-2, 3..;3]);
        let k = Array::from_shape_vec((3, 4), pseudo(12, 4)).unwrap();
        let p =
            CorrelateParams::new(&[15, 26], &[3, 4], Mode::Same, SameOrigin::Left, true).unwrap();
        let a = correlate_plane(&view, &k.view(), &p, Boundary::Symmetric, 0.0).unwrap();
        let b = correlate_plane(&x.view(), &k.view(), &p, Boundary::Symmetric, 0.0).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn wide_and_tall_outputs_split_the_same_way_for_every_thread_count() {
        let x = Array::from_shape_vec((70, 300), pseudo(21000, 5)).unwrap();
        let k = Array::from_shape_vec((5, 7), pseudo(35, 6)).unwrap();
        let p = CorrelateParams::new(&[70, 300], &[5, 7], Mode::Full, SameOrigin::Centre, false)
            .unwrap();
        let one = crate::threads::run(1, || {
            correlate_plane(&x.view(), &k.view(), &p, Boundary::Wrap, 0.0)
        })
        .unwrap()
        .unwrap();
        let three = crate::threads::run(3, || {
            correlate_plane(&x.view(), &k.view(), &p, Boundary::Wrap, 0.0)
        })
        .unwrap()
        .unwrap();
        assert_eq!(one, three);
        let x = Array::from_shape_vec((1, 20000), pseudo(20000, 8)).unwrap();
        let k = Array::from_shape_vec((1, 33), pseudo(33, 9)).unwrap();
        let p = CorrelateParams::new(&[1, 20000], &[1, 33], Mode::Same, SameOrigin::Centre, true)
            .unwrap();
        let one = crate::threads::run(1, || {
            correlate_plane(&x.view(), &k.view(), &p, Boundary::Constant, 0.0)
        })
        .unwrap()
        .unwrap();
        let two = crate::threads::run(2, || {
            correlate_plane(&x.view(), &k.view(), &p, Boundary::Constant, 0.0)
        })
        .unwrap()
        .unwrap();
        assert_eq!(one, two);
        let nd =
            crate::signal::direct::correlate_nd(&x.view().into_dyn(), &k.view().into_dyn(), &p)
                .unwrap();
        for (a, b) in one.iter().zip(nd.iter()) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn empty_inputs() {
        let x = Array2::<f64>::zeros((0, 3));
        let k = Array2::from_elem((2, 2), 1.0);
        let p =
            CorrelateParams::new(&[0, 3], &[2, 2], Mode::Full, SameOrigin::Centre, true).unwrap();
        let out = correlate_plane(&x.view(), &k.view(), &p, Boundary::Constant, 1.0).unwrap();
        assert_eq!(out, Array2::from_elem((1, 4), 4.0));
        assert!(correlate_plane(&x.view(), &k.view(), &p, Boundary::Wrap, 0.0).is_err());
        let x = Array2::from_elem((2, 3), 1.0);
        let k = Array2::<f64>::zeros((0, 2));
        let p =
            CorrelateParams::new(&[2, 3], &[0, 2], Mode::Full, SameOrigin::Centre, true).unwrap();
        let out = correlate_plane(&x.view(), &k.view(), &p, Boundary::Wrap, 0.0).unwrap();
        assert_eq!(out, Array2::<f64>::zeros((1, 4)));
    }
}
