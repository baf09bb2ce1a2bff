//! Winograd F(2×2, 3×3) for 3×3, stride-1, undilated, ungrouped 2-D
//! convolutions with zero padding.
//!
//! Each 2×2 output tile is Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A, where d is the
//! 4×4 input tile under it: 16 multiplies per tile and channel pair
//! instead of 36. Over channels the 16 element-wise products become 16
//! independent GEMMs U_ξ (C_out × C_in) · V_ξ (C_in × tiles), so the
//! multiply-adds still run through the GEMM engine. The transforms only
//! add and subtract (and halve, exactly, in G), so float32 stays within a
//! few ulps of the direct sum on data of one scale.
//!
//! The forward pass, the input gradient (the same correlation with the
//! flipped, transposed kernel) and the weight gradient (16 GEMMs over the
//! tiles, see [`weight_grad`]) all run this way.
//!
//! Tiles are processed in blocks of whole tile rows (a few hundred tiles)
//! so V and M stay in cache between the transforms and the GEMMs. A task
//! owns a fixed range of samples (a contiguous piece of the output), or,
//! with fewer samples than threads, one block of tile rows of a sample
//! (the output rows under them); task and block boundaries depend only on
//! the shape, and each output is one GEMM's sum over input channels
//! whatever the blocks, so every thread count gives the same bits.

use super::params::ConvGeometry;
use super::{
    Path, chunk_range, for_pieces_scratch, matmul, schedule, scratch_slice, split_macs,
    sum_partials, weight_chunks, zero,
};
use crate::element::Real;
use crate::pad::Boundary;
use rayon::prelude::*;

/// Tiles per block: enough columns for the GEMMs to amortise packing U_ξ,
/// few enough that V and M (16 × channels × tiles each) stay in cache.
/// Measured single-threaded (CPU ms, (8, 64, 56, 56)→64 / (8, 256, 14,
/// 14)→256): 96 tiles 22.8 / 27.9, 160 20.3 / 25.7, 256 18.9 / 24.8, 400
/// 18.4 / 24.1, 640 19.9 / 23.2: flat from 256 on, within the noise; 256
/// keeps two tasks for two threads on the 256-channel layer.
const BLOCK_TILES: usize = 256;

/// The default path's rule, measured single-threaded (CPU time, float32,
/// interleaved with the im2col path, speed-up of Winograd): (8, C, 56, 56)
/// pad 1, C→C: 16→16 0.90×, 24→24 1.20×, 32→32 1.20×, 64→64 1.6×;
/// 16→64 0.87×, 64→16 1.17×; few tiles: (1, 64, 7, 7) 16 tiles 0.83×,
/// (1, 256, 8, 8) 16 tiles 0.64×, (2, 64, 8, 8) 32 tiles 1.01×,
/// (1, 64, 14, 14) 49 tiles 1.09×, (4, 256, 8, 8) 64 tiles 1.13×. The
/// input channels are the GEMMs' K (packing and the input transform are
/// paid per input channel), and the weight transform is paid once per call
/// whatever the number of tiles. The weight gradient, measured the same
/// way against im2col: (8, 24, 56, 56) 0.86×, (8, 64, 56, 56) 0.67×,
/// (8, 256, 14, 14) 0.67×, (2, 64, 14, 14) 98 tiles 0.85× (time ratios).
const MIN_IN_CHANNELS: usize = 24;
const MIN_OUT_CHANNELS: usize = 16;
const MIN_TILES: usize = 48;

/// Whether the geometry is one Winograd F(2×2, 3×3) computes: a 2-D (or
/// depth-1) 3×3 kernel, stride 1, dilation 1, one group, zero padding.
pub fn applies(g: &ConvGeometry) -> bool {
    g.groups == 1
        && g.kernel == [1, 3, 3]
        && g.stride == [1; 3]
        && g.dilation == [1; 3]
        && g.in_size[0] == 1
        && g.out_size[0] == 1
        && g.pad_before[0] == 0
        && g.boundary == Boundary::Constant
}

/// Whether `path` runs the forward pass and the gradients through Winograd. The default
/// (`Path::Gemm`) does where it applies and the layer is large enough
/// (see [`MIN_IN_CHANNELS`]); the environment variable `RUSTCONV_WINOGRAD`
/// set to `0` turns it off (and `1` on wherever it applies), so the
/// im2col path stays reachable for comparison.
pub fn chosen(g: &ConvGeometry, path: Path) -> bool {
    if !applies(g) {
        return false;
    }
    match path {
        Path::Winograd => true,
        Path::Gemm => match std::env::var("RUSTCONV_WINOGRAD").as_deref() {
            Ok("0") => false,
            Ok("1") => true,
            _ => {
                let tiles = g.out_size[1].div_ceil(2) * g.out_size[2].div_ceil(2);
                g.out_channels >= MIN_OUT_CHANNELS
                    && g.in_channels >= MIN_IN_CHANNELS
                    && g.batch.saturating_mul(tiles) >= MIN_TILES
            }
        },
        Path::Reference | Path::Direct => false,
    }
}

/// One stride-1 3×3 correlation with zero fill:
/// out[n, o, y, x] = bias[o] + Σ_{c, ky, kx} in[n, c, y + ky − off_h, x + kx − off_w] · w[o, c, ky, kx].
struct Layer {
    batch: usize,
    in_channels: usize,
    out_channels: usize,
    in_h: usize,
    in_w: usize,
    out_h: usize,
    out_w: usize,
    off_h: isize,
    off_w: isize,
}

impl Layer {
    /// The forward layer of `g` (input → output).
    fn of(g: &ConvGeometry) -> Self {
        Layer {
            batch: g.batch,
            in_channels: g.in_channels,
            out_channels: g.out_channels,
            in_h: g.in_size[1],
            in_w: g.in_size[2],
            out_h: g.out_size[1],
            out_w: g.out_size[2],
            off_h: g.pad_before[1] as isize,
            off_w: g.pad_before[2] as isize,
        }
    }

    fn tiles_h(&self) -> usize {
        self.out_h.div_ceil(2)
    }

    fn tiles_w(&self) -> usize {
        self.out_w.div_ceil(2)
    }
}

/// Row `r` of G applied to (a, b, d) element-wise, into `dst`: G's rows
/// are (1, 0, 0), (½, ½, ½), (½, −½, ½), (0, 0, 1).
fn g_row<T: Real>(r: usize, (a, b, d): (&[T], &[T], &[T]), half: T, dst: &mut [T]) {
    for (((v, &a), &b), &d) in dst.iter_mut().zip(a).zip(b).zip(d) {
        *v = match r {
            0 => a,
            1 => (a + b + d) * half,
            2 => (a - b + d) * half,
            _ => d,
        };
    }
}

/// The transform's rows for one output channel: its taps gathered
/// k-major, and G g.
#[derive(Default)]
struct WeightRows<T> {
    taps: Vec<T>,
    gg: Vec<T>,
}

/// U (C_out × 16 × C_in: per output channel, ξ-major) = G g Gᵀ for every
/// channel pair, with `kernels(o)` the 3×3 kernels (row-major) of output o
/// for inputs 0, 1, …. U_ξ is the C_out × C_in matrix at offset
/// ξ·C_in with row stride 16·C_in. One output channel per task, each
/// writing its own contiguous block: its taps gathered k-major, then every
/// combination an element-wise pass over the input channels, so it
/// vectorises (scalar per pair, with 16 scattered stores each, it took 2.5
/// ms of a 2.7 ms (1, 256, 14, 14)→256 forward pass, all on one thread).
fn transform_weights<T: Real, I>(
    out_channels: usize,
    in_channels: usize,
    kernels: impl Fn(usize) -> I + Sync,
) -> Vec<T>
where
    I: Iterator<Item = [T; 9]>,
{
    let half = T::from_f64(0.5).unwrap_or_else(zero::<T>);
    let n = in_channels;
    let mut u = vec![zero::<T>(); 16 * out_channels * n];
    fn row<T>(buf: &[T], r: usize, n: usize) -> &[T] {
        &buf[r * n..][..n]
    }
    // About 64 multiply-add-equivalents per channel pair (gathers included).
    let parallel = split_macs((out_channels * n).saturating_mul(64));
    for_pieces_scratch(
        &mut u,
        16 * n,
        parallel,
        |o, u_o, rows: &mut WeightRows<T>| {
            let taps = scratch_slice(&mut rows.taps, 9 * n);
            // Tap k of every input channel into row k.
            let mut split = taps.chunks_exact_mut(n);
            let mut tap_rows: [&mut [T]; 9] =
                std::array::from_fn(|_| split.next().unwrap_or_default());
            for (c, kernel) in kernels(o).take(n).enumerate() {
                for (row, &t) in tap_rows.iter_mut().zip(&kernel) {
                    row[c] = t;
                }
            }
            // G g, column j: the kernel's rows g0, g1, g2 at column j.
            let gg = scratch_slice(&mut rows.gg, 12 * n);
            for j in 0..3 {
                let abd = (row(taps, j, n), row(taps, 3 + j, n), row(taps, 6 + j, n));
                for i in 0..4 {
                    g_row(i, abd, half, &mut gg[(3 * i + j) * n..][..n]);
                }
            }
            // (G g) Gᵀ, row i: G applied to that row's three columns.
            for i in 0..4 {
                let abd = (
                    row(gg, 3 * i, n),
                    row(gg, 3 * i + 1, n),
                    row(gg, 3 * i + 2, n),
                );
                for j in 0..4 {
                    g_row(j, abd, half, &mut u_o[(i * 4 + j) * n..][..n]);
                }
            }
        },
    );
    u
}

/// Per-worker buffers: V and M of one block, and the rows one tile row's
/// transforms work in.
struct Scratch<T> {
    v: Vec<T>,
    m: Vec<T>,
    rows: Vec<T>,
}

impl<T> Default for Scratch<T> {
    fn default() -> Self {
        Scratch {
            v: Vec::new(),
            m: Vec::new(),
            rows: Vec::new(),
        }
    }
}

/// Samples per task and tile rows per block, from the shape only.
fn partition(layer: &Layer) -> (usize, usize) {
    let (th, tw) = (layer.tiles_h(), layer.tiles_w());
    let rows_per_block = (BLOCK_TILES / tw.max(1)).max(1);
    // Small images: several samples per task so a block still has a few
    // hundred tiles; then the samples spread evenly over the tasks.
    let per_task = rows_per_block.div_ceil(th.max(1)).max(1);
    let tasks = layer.batch.div_ceil(per_task).max(1);
    (layer.batch.div_ceil(tasks).max(1), rows_per_block)
}

/// `total_rows` tile rows in blocks as even as possible, none longer than
/// `rows_per_block`.
fn blocks(
    total_rows: usize,
    rows_per_block: usize,
) -> impl Iterator<Item = std::ops::Range<usize>> {
    let count = total_rows.div_ceil(rows_per_block.max(1));
    let per_block = total_rows.div_ceil(count.max(1)).max(1);
    (0..total_rows)
        .step_by(per_block)
        .map(move |r0| r0..(r0 + per_block).min(total_rows))
}

/// Bᵀ d B of every tile of tile rows `rows` (global tile-row indices within
/// the task starting at sample `n0`) and every input channel, into `v`
/// (16 × C_in × tiles). Both halves run on whole rows (Bᵀ d on the four
/// padded input rows, then · B on their even and odd columns), so every
/// loop is element-wise over contiguous slices and vectorises.
fn transform_input<T: Real>(
    layer: &Layer,
    input: &[T],
    n0: usize,
    rows: std::ops::Range<usize>,
    v: &mut [T],
    buf: &mut Vec<T>,
) {
    let (th, tw) = (layer.tiles_h(), layer.tiles_w());
    let tiles = rows.len() * tw;
    let plane = layer.in_h * layer.in_w;
    let width = 2 * tw + 2;
    // 4 padded rows and their Bᵀ combinations.
    let buf = scratch_slice(buf, 8 * width);
    let (padded, combined) = buf.split_at_mut(4 * width);
    // Columns [x0, x1) of a padded row exist in the input.
    let x0 = layer.off_w.clamp(0, width as isize) as usize;
    let x1 = (layer.off_w + layer.in_w as isize).clamp(0, width as isize) as usize;
    for c in 0..layer.in_channels {
        for (local, row) in rows.clone().enumerate() {
            let (n, ty) = (n0 + row / th, row % th);
            let x_plane = &input[(n * layer.in_channels + c) * plane..][..plane];
            for (i, dst) in padded.chunks_exact_mut(width).enumerate() {
                let y = (2 * ty + i) as isize - layer.off_h;
                if y < 0 || y >= layer.in_h as isize || x1 <= x0 {
                    dst.fill(zero::<T>());
                    continue;
                }
                let src = &x_plane[y as usize * layer.in_w..][..layer.in_w];
                let s0 = (x0 as isize - layer.off_w) as usize;
                dst[..x0].fill(zero::<T>());
                dst[x0..x1].copy_from_slice(&src[s0..s0 + (x1 - x0)]);
                dst[x1..].fill(zero::<T>());
            }
            // Bᵀ d: rows d0 − d2, d1 + d2, d2 − d1, d1 − d3.
            {
                let (p0, r) = padded.split_at(width);
                let (p1, r) = r.split_at(width);
                let (p2, p3) = r.split_at(width);
                let (q0, r) = combined.split_at_mut(width);
                let (q1, r) = r.split_at_mut(width);
                let (q2, q3) = r.split_at_mut(width);
                for x in 0..width {
                    q0[x] = p0[x] - p2[x];
                    q1[x] = p1[x] + p2[x];
                    q2[x] = p2[x] - p1[x];
                    q3[x] = p1[x] - p3[x];
                }
            }
            // · B: tile tx spans columns 2tx .. 2tx + 3 of each combined row:
            // (q0 − q2, q1 + q2, q2 − q1, q1 − q3) of those four columns.
            let base = local * tw;
            for (i, q) in combined.chunks_exact(width).enumerate() {
                let at = |j: usize| (i * 4 + j) * layer.in_channels * tiles + c * tiles + base;
                let pairs = || q[..2 * tw].chunks_exact(2).zip(q[2..].chunks_exact(2));
                for (d, (a, b)) in v[at(0)..][..tw].iter_mut().zip(pairs()) {
                    *d = a[0] - b[0];
                }
                for (d, (a, b)) in v[at(1)..][..tw].iter_mut().zip(pairs()) {
                    *d = a[1] + b[0];
                }
                for (d, (a, b)) in v[at(2)..][..tw].iter_mut().zip(pairs()) {
                    *d = b[0] - a[1];
                }
                for (d, (a, b)) in v[at(3)..][..tw].iter_mut().zip(pairs()) {
                    *d = a[1] - b[1];
                }
            }
        }
    }
}

/// Where the output transform writes: output row `y` of channel `o` of
/// sample `n`, `out_w` elements.
trait OutRows<T> {
    fn row(&mut self, n: usize, o: usize, y: usize) -> &mut [T];
}

/// The output of the samples `n0..` (N × C_out × out_h × out_w, from n0).
struct SampleRows<'a, T> {
    out: &'a mut [T],
    n0: usize,
    cout: usize,
    out_h: usize,
    out_w: usize,
}

impl<T> OutRows<T> for SampleRows<'_, T> {
    fn row(&mut self, n: usize, o: usize, y: usize) -> &mut [T] {
        let at = (((n - self.n0) * self.cout + o) * self.out_h + y) * self.out_w;
        &mut self.out[at..][..self.out_w]
    }
}

/// The whole output, shared by tasks that each own the output rows of
/// their tile rows of one sample (see [`BlockRows`]).
struct SharedOut<T> {
    ptr: *mut T,
    len: usize,
    cout: usize,
    out_h: usize,
    out_w: usize,
}

// SAFETY: a SharedOut hands out only the rows of a `BlockRows` view, and
// the views of concurrent tasks own disjoint rows (checked in `row`).
unsafe impl<T: Send> Send for SharedOut<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SharedOut<T> {}

impl<T> SharedOut<T> {
    fn new(out: &mut [T], layer: &Layer) -> Self {
        SharedOut {
            ptr: out.as_mut_ptr(),
            len: out.len(),
            cout: layer.out_channels,
            out_h: layer.out_h,
            out_w: layer.out_w,
        }
    }
}

/// The output rows of tile rows `tiles` of sample `n`: output rows
/// 2·tiles.start .. 2·tiles.end of every channel. Blocks of different tile
/// rows or samples never share a row.
struct BlockRows<'a, T> {
    shared: &'a SharedOut<T>,
    n: usize,
    tiles: std::ops::Range<usize>,
}

impl<T> OutRows<T> for BlockRows<'_, T> {
    fn row(&mut self, n: usize, o: usize, y: usize) -> &mut [T] {
        let s = self.shared;
        assert!(
            n == self.n && (2 * self.tiles.start..2 * self.tiles.end).contains(&y),
            "winograd: output row outside the block"
        );
        assert!(o < s.cout && y < s.out_h);
        let at = ((n * s.cout + o) * s.out_h + y) * s.out_w;
        assert!(at + s.out_w <= s.len);
        // SAFETY: in bounds (asserted); the row belongs to this block's
        // (sample, tile rows), which no other live view holds, and `&mut
        // self` keeps this view from handing it out twice at once. The
        // caller of `run_blocks` holds the output mutably for the whole
        // parallel loop.
        unsafe { std::slice::from_raw_parts_mut(s.ptr.add(at), s.out_w) }
    }
}

/// Aᵀ m A (plus the bias) of every tile of tile rows `rows`, from `m`
/// (16 × C_out × tiles) into `out` (the task's samples, from `n0`). The
/// row half (Aᵀ m) runs element-wise over the tiles of a row into `buf`,
/// so it vectorises; the column half interleaves into the output rows.
fn transform_output<T: Real>(
    layer: &Layer,
    m: &[T],
    bias: Option<&[T]>,
    n0: usize,
    rows: std::ops::Range<usize>,
    out: &mut impl OutRows<T>,
    buf: &mut Vec<T>,
) {
    let (th, tw) = (layer.tiles_h(), layer.tiles_w());
    let tiles = rows.len() * tw;
    let cout = layer.out_channels;
    let (oh, ow) = (layer.out_h, layer.out_w);
    let full = ow / 2;
    // s[r][j] (8 × tw): s0 = m0 + m1 + m2, s1 = m1 − m2 − m3 on rows.
    let s = scratch_slice(buf, 8 * tw);
    for o in 0..cout {
        let b = bias.map_or(zero::<T>(), |b| b[o]);
        for (local, row) in rows.clone().enumerate() {
            let (n, ty) = (n0 + row / th, row % th);
            let ms = |k: usize| &m[(k * cout + o) * tiles + local * tw..][..tw];
            for (j, pair) in s.chunks_exact_mut(2 * tw).enumerate() {
                let (s0, s1) = pair.split_at_mut(tw);
                let (a, bb, c, d) = (ms(j), ms(4 + j), ms(8 + j), ms(12 + j));
                for tx in 0..tw {
                    s0[tx] = a[tx] + bb[tx] + c[tx];
                    s1[tx] = bb[tx] - c[tx] - d[tx];
                }
            }
            let y = 2 * ty;
            for r in 0..2 {
                if y + r >= oh {
                    break;
                }
                // Column j of row half r.
                let col = |j: usize| &s[j * 2 * tw + r * tw..][..tw];
                let (c0, c1, c2, c3) = (col(0), col(1), col(2), col(3));
                let dst = out.row(n, o, y + r);
                for (tx, pair) in dst[..2 * full].chunks_exact_mut(2).enumerate() {
                    pair[0] = c0[tx] + c1[tx] + c2[tx] + b;
                    pair[1] = c1[tx] - c2[tx] - c3[tx] + b;
                }
                if ow % 2 == 1 {
                    dst[2 * full] = c0[full] + c1[full] + c2[full] + b;
                }
            }
        }
    }
}

/// A dy Aᵀ (the adjoint of the output transform) of every tile of tile
/// rows `rows` and every output channel, into `p` (16 × C_out × tiles),
/// from `dy` (N × C_out × out_h × out_w; a tile's positions beyond the
/// output are zeros). Row by row: the two output rows split into even and
/// odd columns, their A combinations (r0, r0 + r1, r0 − r1, −r1), then the
/// same on columns, each a contiguous loop over the row's tiles.
fn transform_grad_output<T: Real>(
    layer: &Layer,
    dy: &[T],
    n0: usize,
    rows: std::ops::Range<usize>,
    p: &mut [T],
    buf: &mut Vec<T>,
) {
    let (th, tw) = (layer.tiles_h(), layer.tiles_w());
    let tiles = rows.len() * tw;
    let (oh, ow) = (layer.out_h, layer.out_w);
    let plane = oh * ow;
    let cout = layer.out_channels;
    let full = ow / 2;
    // Even and odd columns of the two rows (4 × tw), then the four row
    // combinations of each (8 × tw).
    let buf = scratch_slice(buf, 12 * tw);
    let (split, comb) = buf.split_at_mut(4 * tw);
    for o in 0..cout {
        for (local, row) in rows.clone().enumerate() {
            let (n, ty) = (n0 + row / th, row % th);
            let dy_plane = &dy[(n * cout + o) * plane..][..plane];
            for (r, pair) in split.chunks_exact_mut(2 * tw).enumerate() {
                let (even, odd) = pair.split_at_mut(tw);
                let y = 2 * ty + r;
                if y >= oh {
                    even.fill(zero::<T>());
                    odd.fill(zero::<T>());
                    continue;
                }
                let src = &dy_plane[y * ow..][..ow];
                for ((e, o), two) in even.iter_mut().zip(odd.iter_mut()).zip(src.chunks_exact(2)) {
                    *e = two[0];
                    *o = two[1];
                }
                if ow % 2 == 1 {
                    even[full] = src[2 * full];
                    odd[full] = zero::<T>();
                }
            }
            let (e0, o0, e1, o1) = (
                &split[..tw],
                &split[tw..2 * tw],
                &split[2 * tw..3 * tw],
                &split[3 * tw..],
            );
            // comb[2i] / comb[2i + 1]: row combination i of the even / odd columns.
            for (i, pair) in comb.chunks_exact_mut(2 * tw).enumerate() {
                let (ce, co) = pair.split_at_mut(tw);
                for (dst, (a, b)) in [(ce, (e0, e1)), (co, (o0, o1))] {
                    for ((d, &a), &b) in dst.iter_mut().zip(a).zip(b) {
                        *d = match i {
                            0 => a,
                            1 => a + b,
                            2 => a - b,
                            _ => -b,
                        };
                    }
                }
            }
            let base = local * tw;
            for i in 0..4 {
                let ce = &comb[2 * i * tw..][..tw];
                let co = &comb[(2 * i + 1) * tw..][..tw];
                for j in 0..4 {
                    let dst = &mut p[((i * 4 + j) * cout + o) * tiles + base..][..tw];
                    for ((d, &e), &od) in dst.iter_mut().zip(ce).zip(co) {
                        *d = match j {
                            0 => e,
                            1 => e + od,
                            2 => e - od,
                            _ => -od,
                        };
                    }
                }
            }
        }
    }
}

/// Runs `layer` with transformed weights `u` into `out`
/// (N × C_out × out_h × out_w).
fn run<T: Real>(layer: &Layer, input: &[T], u: &[T], bias: Option<&[T]>, out: &mut [T]) {
    let (th, tw) = (layer.tiles_h(), layer.tiles_w());
    let (per_task, rows_per_block) = partition(layer);
    let tasks = layer.batch.div_ceil(per_task);
    let (cin, cout) = (layer.in_channels, layer.out_channels);
    let plane = layer.out_h * layer.out_w;
    let macs = (layer.batch * th * tw)
        .saturating_mul(16)
        .saturating_mul(cin)
        .saturating_mul(cout);
    let (outer, inner) = schedule(tasks, macs);
    // Fewer samples than threads: blocks of tile rows in parallel, each
    // with serial GEMMs, where a sample has several blocks of at least 64
    // tiles. (Splitting each GEMM instead cost more than it gained: a
    // (1, 64, 56, 56)→64 layer took 1.6 ms on two threads, 0.95 on one.)
    let small_rows = rows_per_block
        .min(th.div_ceil(4))
        .max(64usize.div_ceil(tw.max(1)));
    if inner && th.div_ceil(small_rows.max(1)) >= 2 {
        return run_blocks(layer, input, u, bias, out, small_rows);
    }
    for_pieces_scratch(
        out,
        per_task * cout * plane,
        outer,
        |task, o_task, scratch: &mut Scratch<T>| {
            let n0 = task * per_task;
            let samples = o_task.len() / (cout * plane).max(1);
            let mut rows_out = SampleRows {
                out: o_task,
                n0,
                cout,
                out_h: layer.out_h,
                out_w: layer.out_w,
            };
            for rows in blocks(samples * th, rows_per_block) {
                let Scratch { v, m, rows: buf } = &mut *scratch;
                let m = gemm_block(layer, input, u, n0, rows.clone(), v, m, buf, inner);
                transform_output(layer, m, bias, n0, rows, &mut rows_out, buf);
            }
        },
    );
}

/// V = Bᵀ d B of tile rows `rows` (from sample `n0`), then M_ξ = U_ξ V_ξ
/// for the 16 ξ, into the scratch's M (returned).
#[allow(clippy::too_many_arguments)]
fn gemm_block<'s, T: Real>(
    layer: &Layer,
    input: &[T],
    u: &[T],
    n0: usize,
    rows: std::ops::Range<usize>,
    v: &mut Vec<T>,
    m: &'s mut Vec<T>,
    buf: &mut Vec<T>,
    parallel: bool,
) -> &'s [T] {
    let tw = layer.tiles_w();
    let (cin, cout) = (layer.in_channels, layer.out_channels);
    let tiles = rows.len() * tw;
    let v = scratch_slice(v, 16 * cin * tiles);
    transform_input(layer, input, n0, rows, v, buf);
    let m = scratch_slice(m, 16 * cout * tiles);
    for xi in 0..16 {
        matmul(
            (cout, tiles, cin),
            &mut m[xi * cout * tiles..][..cout * tiles],
            tiles,
            (&u[xi * cin..], 16 * cin, 1),
            (&v[xi * cin * tiles..][..cin * tiles], tiles, 1),
            false,
            parallel,
        );
    }
    m
}

/// [`run`] for fewer samples than threads: every sample's tile rows in
/// blocks of `block_rows` (from the shape only), the blocks in parallel,
/// each writing the output rows of its own tile rows.
fn run_blocks<T: Real>(
    layer: &Layer,
    input: &[T],
    u: &[T],
    bias: Option<&[T]>,
    out: &mut [T],
    block_rows: usize,
) {
    let th = layer.tiles_h();
    let work: Vec<(usize, std::ops::Range<usize>)> = (0..layer.batch)
        .flat_map(|n| blocks(th, block_rows).map(move |rows| (n, rows)))
        .collect();
    let shared = SharedOut::new(out, layer);
    work.into_par_iter()
        .for_each_init(Scratch::default, |scratch, (n, rows)| {
            // Tile rows of sample n, counted from its first row.
            let Scratch { v, m, rows: buf } = scratch;
            let m = gemm_block(layer, input, u, n, rows.clone(), v, m, buf, false);
            let mut rows_out = BlockRows {
                shared: &shared,
                n,
                tiles: rows.clone(),
            };
            transform_output(layer, m, bias, n, rows, &mut rows_out, buf);
        });
}

/// out = conv(input, weight) + bias for a geometry where [`applies`] holds.
pub fn forward<T: Real>(
    g: &ConvGeometry,
    input: &[T],
    weight: &[T],
    bias: Option<&[T]>,
    out: &mut [T],
) {
    let layer = Layer::of(g);
    let cin = g.in_channels;
    let u = transform_weights(g.out_channels, cin, |o| {
        weight[o * cin * 9..][..cin * 9]
            .chunks_exact(9)
            .map(|k| std::array::from_fn(|i| k[i]))
    });
    run(&layer, input, &u, bias, out);
}

/// grad_input of the convolution `g` (where [`applies`] holds): the
/// stride-1 correlation of grad_output with the flipped, transposed
/// kernel, offset by 2 − pad.
pub fn input_grad<T: Real>(
    g: &ConvGeometry,
    weight: &[T],
    grad_output: &[T],
    grad_input: &mut [T],
) {
    let layer = Layer {
        batch: g.batch,
        in_channels: g.out_channels,
        out_channels: g.in_channels,
        in_h: g.out_size[1],
        in_w: g.out_size[2],
        out_h: g.in_size[1],
        out_w: g.in_size[2],
        off_h: 2 - g.pad_before[1] as isize,
        off_w: 2 - g.pad_before[2] as isize,
    };
    let cin = g.in_channels;
    // Input channel c's kernels of every output channel, flipped.
    let u = transform_weights(g.in_channels, g.out_channels, |c| {
        weight
            .chunks_exact(cin * 9)
            .map(move |w_o| std::array::from_fn(|i| w_o[c * 9 + 8 - i]))
    });
    run(&layer, grad_output, &u, None, grad_input);
}

/// grad_weight of the convolution `g` (where [`applies`] holds). With
/// P = A dy Aᵀ and V = Bᵀ d B per tile, dU = Σ_tiles P ⊙ V is the gradient
/// of the transformed weights U = G g Gᵀ, and grad_weight = Gᵀ dU G: per
/// ξ one GEMM P_ξ (C_out × tiles) · V_ξᵀ (tiles × C_in), 16 multiplies per
/// tile and channel pair instead of im2col's 36. Each batch chunk sums its
/// tiles into its own dU (chunks from the shape, as in the im2col path),
/// and the chunks are added in order, so every thread count gives the same
/// bits.
pub fn weight_grad<T: Real>(
    g: &ConvGeometry,
    input: &[T],
    grad_output: &[T],
    grad_weight: &mut [T],
) -> crate::error::Result<()> {
    let layer = Layer::of(g);
    let (th, tw) = (layer.tiles_h(), layer.tiles_w());
    let (cin, cout) = (layer.in_channels, layer.out_channels);
    let pair = cin * cout;
    let (_, rows_per_block) = partition(&layer);
    // Chunks no smaller than a block where the batch allows, so the GEMMs'
    // K (the tiles of a block) stays a few hundred.
    let chunks = weight_chunks(layer.batch, 16 * pair, std::mem::size_of::<T>())
        .min((layer.batch * th).div_ceil(rows_per_block.max(1)))
        .max(1);
    let macs = (layer.batch * th * tw)
        .saturating_mul(16)
        .saturating_mul(pair);
    let (outer, inner) = schedule(chunks, macs);
    let mut partials = crate::buffer::try_filled(chunks * 16 * pair, zero::<T>())?;
    for_pieces_scratch(
        &mut partials,
        16 * pair,
        outer,
        |chunk, du, scratch: &mut Scratch<T>| {
            let samples = chunk_range(layer.batch, chunks, chunk);
            let n0 = samples.start;
            for rows in blocks(samples.len() * th, rows_per_block) {
                let tiles = rows.len() * tw;
                let v = scratch_slice(&mut scratch.v, 16 * cin * tiles);
                transform_input(&layer, input, n0, rows.clone(), v, &mut scratch.rows);
                let p = scratch_slice(&mut scratch.m, 16 * cout * tiles);
                transform_grad_output(&layer, grad_output, n0, rows, p, &mut scratch.rows);
                for xi in 0..16 {
                    matmul(
                        (cout, cin, tiles),
                        &mut du[xi * pair..][..pair],
                        cin,
                        (&p[xi * cout * tiles..][..cout * tiles], tiles, 1),
                        (&v[xi * cin * tiles..][..cin * tiles], 1, tiles),
                        true,
                        inner,
                    );
                }
            }
        },
    );
    let du = if chunks == 1 {
        partials
    } else {
        let mut total = crate::buffer::try_filled(16 * pair, zero::<T>())?;
        sum_partials(&partials, &mut total);
        total
    };
    // Gᵀ dU G: rows d0 + (d1 + d2)/2, (d1 − d2)/2, (d1 + d2)/2 + d3, then
    // the same on columns.
    let half = T::from_f64(0.5).unwrap_or_else(zero::<T>);
    let gt = |d: [T; 4]| {
        [
            d[0] + (d[1] + d[2]) * half,
            (d[1] - d[2]) * half,
            (d[1] + d[2]) * half + d[3],
        ]
    };
    for (oc, taps) in grad_weight.chunks_exact_mut(9).enumerate() {
        let at = |i: usize, j: usize| du[(i * 4 + j) * pair + oc];
        let cols: [[T; 3]; 4] = std::array::from_fn(|j| gt(std::array::from_fn(|i| at(i, j))));
        for ky in 0..3 {
            let row = gt(std::array::from_fn(|j| cols[j][ky]));
            taps[ky * 3..][..3].copy_from_slice(&row);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::params::{ConvGeometry, Padding};
    use super::super::{Path, reference};
    use super::*;

    fn data(len: usize, seed: u64) -> Vec<f64> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect()
    }

    fn geometry(input: [usize; 4], out_channels: usize, padding: Padding) -> ConvGeometry {
        ConvGeometry::forward(
            2,
            &input,
            &[out_channels, input[1], 3, 3],
            &[1, 1],
            &padding,
            &[1, 1],
            1,
            Boundary::Constant,
        )
        .unwrap()
        .0
    }

    fn rel_err(got: &[f64], want: &[f64]) -> f64 {
        let num: f64 = got.iter().zip(want).map(|(a, b)| (a - b) * (a - b)).sum();
        let den: f64 = want.iter().map(|b| b * b).sum();
        (num / den.max(f64::MIN_POSITIVE)).sqrt()
    }

    fn shapes() -> Vec<([usize; 4], usize, Padding)> {
        let e = |p: i64| Padding::Explicit(vec![p, p]);
        vec![
            ([1, 1, 5, 7], 1, e(0)),
            ([2, 3, 7, 5], 4, e(1)),
            ([3, 20, 9, 11], 17, e(2)),
            ([1, 16, 8, 8], 16, e(1)),
            ([2, 5, 3, 3], 2, e(0)),
            ([1, 2, 4, 6], 3, e(2)),
            ([3, 7, 13, 6], 20, e(1)),
            ([2, 4, 6, 9], 5, Padding::Same),
            ([1, 18, 35, 23], 19, e(1)),
            ([9, 17, 4, 5], 16, e(1)),
            // One sample large enough to split: its tile rows in parallel blocks.
            ([1, 32, 40, 39], 32, e(1)),
        ]
    }

    #[test]
    fn forward_and_input_grad_match_reference_f64() {
        for (i, (input, cout, padding)) in shapes().into_iter().enumerate() {
            let g = geometry(input, cout, padding);
            assert!(applies(&g), "case {i}");
            let x = data(input.iter().product(), 1 + i as u64);
            let w = data(cout * input[1] * 9, 50 + i as u64);
            let b = data(cout, 99);
            let out_len = g.batch * cout * g.out_size[1] * g.out_size[2];
            for bias in [None, Some(b.as_slice())] {
                let mut want = vec![f64::NAN; out_len];
                reference::forward(&g, &x, &w, bias, &mut want);
                for threads in [1, 2, 3] {
                    let mut got = vec![f64::NAN; out_len];
                    crate::threads::run(threads, || {
                        super::super::forward(&g, &x, &w, bias, &mut got, Path::Winograd)
                    })
                    .unwrap();
                    let err = rel_err(&got, &want);
                    assert!(err < 1e-13, "forward case {i} threads {threads}: {err}");
                }
            }
            let dy = data(out_len, 7 + i as u64);
            let mut want = vec![f64::NAN; x.len()];
            reference::input_grad(&g, &w, &dy, &mut want);
            let mut got = vec![f64::NAN; x.len()];
            crate::threads::run(2, || input_grad(&g, &w, &dy, &mut got)).unwrap();
            let err = rel_err(&got, &want);
            assert!(err < 1e-13, "input grad case {i}: {err}");
            let mut want = vec![f64::NAN; w.len()];
            reference::weight_grad(&g, &x, &dy, &mut want);
            for threads in [1, 2, 3] {
                let mut got = vec![f64::NAN; w.len()];
                crate::threads::run(threads, || weight_grad(&g, &x, &dy, &mut got))
                    .unwrap()
                    .unwrap();
                let err = rel_err(&got, &want);
                assert!(err < 1e-13, "weight grad case {i} threads {threads}: {err}");
            }
        }
    }

    #[test]
    fn float32_is_accurate_and_bitwise_stable_across_threads() {
        let g = geometry([3, 20, 19, 17], 18, Padding::Explicit(vec![1, 1]));
        let x = data(3 * 20 * 19 * 17, 3);
        let w = data(18 * 20 * 9, 4);
        let out_len = 3 * 18 * 19 * 17;
        let mut want = vec![f64::NAN; out_len];
        reference::forward(&g, &x, &w, None, &mut want);
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
        let mut results = Vec::new();
        for threads in [1, 2, 3] {
            let mut got = vec![f32::NAN; out_len];
            crate::threads::run(threads, || {
                super::super::forward(&g, &x32, &w32, None, &mut got, Path::Winograd)
            })
            .unwrap();
            results.push(got);
        }
        assert!(results[0] == results[1] && results[0] == results[2]);
        let got: Vec<f64> = results[0].iter().map(|&v| v as f64).collect();
        let err = rel_err(&got, &want);
        assert!(err < 2e-6, "float32 relative error {err}");

        // The weight gradient: batch chunks summed in a fixed order.
        let dy = data(out_len, 5);
        let mut want = vec![f64::NAN; w.len()];
        reference::weight_grad(&g, &x, &dy, &mut want);
        let dy32: Vec<f32> = dy.iter().map(|&v| v as f32).collect();
        let mut results = Vec::new();
        for threads in [1, 2, 3] {
            let mut got = vec![f32::NAN; w.len()];
            crate::threads::run(threads, || weight_grad(&g, &x32, &dy32, &mut got))
                .unwrap()
                .unwrap();
            results.push(got);
        }
        assert!(results[0] == results[1] && results[0] == results[2]);
        let got: Vec<f64> = results[0].iter().map(|&v| v as f64).collect();
        let err = rel_err(&got, &want);
        assert!(err < 2e-6, "float32 weight grad relative error {err}");
    }

    #[test]
    fn other_geometries_do_not_apply() {
        let strided = ConvGeometry::forward(
            2,
            &[1, 16, 8, 8],
            &[16, 16, 3, 3],
            &[2, 2],
            &Padding::Explicit(vec![1, 1]),
            &[1, 1],
            1,
            Boundary::Constant,
        )
        .unwrap()
        .0;
        assert!(!applies(&strided));
        let reflect = ConvGeometry::forward(
            2,
            &[1, 16, 8, 8],
            &[16, 16, 3, 3],
            &[1, 1],
            &Padding::Explicit(vec![1, 1]),
            &[1, 1],
            1,
            Boundary::Reflect,
        )
        .unwrap()
        .0;
        assert!(!applies(&reflect));
        let small = geometry([1, 3, 8, 8], 16, Padding::Explicit(vec![1, 1]));
        assert!(applies(&small) && !chosen(&small, Path::Gemm));
        let few_tiles = geometry([1, 64, 7, 7], 64, Padding::Explicit(vec![1, 1]));
        assert!(!chosen(&few_tiles, Path::Gemm) && chosen(&few_tiles, Path::Winograd));
        let deep = geometry([8, 64, 56, 56], 64, Padding::Explicit(vec![1, 1]));
        assert!(chosen(&deep, Path::Gemm) && !chosen(&deep, Path::Direct));
    }
}
