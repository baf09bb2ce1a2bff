//! The conv family's kernels (pure Rust, no Python): torch.nn.functional's
//! convolution, its two gradients and the transposed convolution.
//!
//! Every rank is computed as 3-D (see [`params`]). The engine is GEMM:
//! per (sample, group), out[C_out/g × positions] = W_g[C_out/g × rows] ×
//! col[rows × positions], where `col` is the im2col matrix of a tile of
//! output positions (rows = C_in/g × kernel volume). A 1×1, stride-1,
//! unpadded convolution needs no im2col: the input plane is the column
//! matrix. The input gradient and the transposed convolution are one
//! operation (the adjoint), col = W_gᵀ × grad_out followed by col2im.
//!
//! GEMM engine choice, measured single-threaded on this machine (AMD EPYC
//! Zen, AVX2+FMA, float32) for (M, K, N) = (C_out, rows, tile):
//! (64, 576, 1024): gemm 0.19 69 GFLOP/s, matrixmultiply 0.3 57;
//! (256, 2304, 196): 84 / 77; (128, 128, 784): 87 / 81; (64, 147, 1024):
//! 77 / 69; (32, 25, 576): 77 / 67. gemm is 8–20 % faster on every shape.

pub mod few;
pub mod params;
pub mod reference;

mod im2col;
mod winograd;

use crate::element::Real;
use crate::pad::Boundary;
use crate::simd;
use crate::threads::split;
use im2col::Im2col;
use params::ConvGeometry;
use rayon::prelude::*;

/// The additive identity (named to avoid the clash between `Element` and
/// `num_traits::Zero`, which `Real` both brings into scope).
#[inline(always)]
pub(crate) fn zero<T: Real>() -> T {
    <T as crate::element::Element>::zero()
}

pub use crate::buffer::{ZeroBits, zeroed};

/// Which implementation runs (the reference exists for tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// The naive loops of [`reference`].
    Reference,
    /// GEMM with tiled im2col (1×1 without copy), or the direct path
    /// where it is faster (see [`uses_direct`]).
    Gemm,
    /// The direct path wherever it applies (tests), GEMM elsewhere.
    Direct,
    /// Winograd F(2×2, 3×3) wherever it applies (tests), GEMM's choice
    /// elsewhere.
    Winograd,
}

/// Whether the direct per-channel path runs: one input channel per group
/// (depthwise convolutions, or a single input channel) and few outputs per
/// group. There the GEMM's K dimension is only the kernel volume and its M
/// dimension tiny, so im2col's copy costs more than the products it feeds.
pub fn uses_direct(g: &ConvGeometry, path: Path) -> bool {
    let applies = g.in_per_group() == 1 && g.kernel_volume() > 1;
    match path {
        Path::Reference => false,
        Path::Direct => applies,
        Path::Gemm | Path::Winograd => applies && g.out_per_group() <= DIRECT_MAX_OUT_PER_GROUP,
    }
}

/// Outputs per group up to which the direct path beats GEMM. Measured
/// single-threaded, interleaved, float32, 3×3 pad 1 on (8, C, 56, 56)
/// (forward / input gradient, ms, GEMM vs direct): multiplier 1 (64→64
/// depthwise) 11.7 / 16.0 vs 8.0 / 7.0; multiplier 2 (32→64) 9.2 / 8.0 vs
/// 10.5 / 8.0; multiplier 8 (16→128) 7.9 / 3.4 vs 16.9 / 12.1; and the
/// single-channel (32, 1, 28, 28)→32 5×5 1.2 / 1.2 vs 5.5 / 7.9.
const DIRECT_MAX_OUT_PER_GROUP: usize = 1;

/// Bytes of one im2col tile. Large enough that a GEMM call amortises its
/// packing of the weights, small enough to stay in the last-level cache.
const TILE_BYTES: usize = 1 << 20;

/// Bytes the per-chunk weight-gradient buffers may take together.
const WEIGHT_PARTIALS_BYTES: usize = 32 << 20;

/// Fixed number of batch chunks of the weight gradient. Depends only on the
/// shape, so the summation order (and every bit of the result) is the same
/// for every thread count.
fn weight_chunks(batch: usize, weight_len: usize, elem: usize) -> usize {
    let budget = WEIGHT_PARTIALS_BYTES / weight_len.saturating_mul(elem).max(1);
    batch.min(8).min(budget.max(1)).max(1)
}

/// Output positions per tile for a column matrix of `rows` rows.
fn tile_columns(rows: usize, positions: usize, elem: usize) -> usize {
    let by_budget = TILE_BYTES / rows.saturating_mul(elem).max(1);
    by_budget.max(64).min(positions).max(1)
}

/// dst[m × n] (row stride `dst_rs`) = (accumulate ? dst : 0) + lhs × rhs,
/// with lhs and rhs given as (slice, row stride, column stride).
#[allow(clippy::too_many_arguments)]
fn matmul<T: Real>(
    (m, n, k): (usize, usize, usize),
    dst: &mut [T],
    dst_rs: usize,
    (lhs, lhs_rs, lhs_cs): (&[T], usize, usize),
    (rhs, rhs_rs, rhs_cs): (&[T], usize, usize),
    accumulate: bool,
    parallel: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for row in 0..m {
                dst[row * dst_rs..row * dst_rs + n].fill(zero::<T>());
            }
        }
        return;
    }
    assert!(
        (m - 1) * dst_rs + n <= dst.len(),
        "matmul: dst out of bounds"
    );
    assert!(
        (m - 1) * lhs_rs + (k - 1) * lhs_cs < lhs.len(),
        "matmul: lhs out of bounds"
    );
    assert!(
        (k - 1) * rhs_rs + (n - 1) * rhs_cs < rhs.len(),
        "matmul: rhs out of bounds"
    );
    let parallelism = if parallel {
        gemm::Parallelism::Rayon(rayon::current_num_threads())
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the asserts above keep every element gemm reads (lhs, rhs) or
    // writes (dst) inside its slice; dst is a unique borrow, so it aliases
    // neither input. The strides are slice offsets and fit in isize.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            T::one(),
            T::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// Multiply-adds per unit of the work estimate that `threads::run_sized`
/// and `threads::split` weigh. Their threshold (2^15 units, here 4 M
/// multiply-adds, 0.1–0.2 ms on one core) is about where a second thread
/// gains more than the hand-off to the pool and back costs (0.1 ms and
/// more, measured on this 2-core machine); below it a convolution runs on
/// the calling thread.
const MACS_PER_WORK: usize = 128;

/// The work estimate of a job of `macs` multiply-adds (see
/// [`MACS_PER_WORK`]); the bindings pass it to `detach_run_sized`.
pub fn work(macs: usize) -> usize {
    macs / MACS_PER_WORK
}

/// Whether a job of `macs` multiply-adds is split across threads (never
/// inside a calling-thread job of `threads::run_sized`).
fn split_macs(macs: usize) -> bool {
    split(work(macs))
}

/// How to spread `tasks` independent tasks of `macs` total multiply-adds:
/// (tasks in parallel, GEMM in parallel). Never both: a parallel GEMM
/// inside a saturated parallel loop only adds overhead.
fn schedule(tasks: usize, macs: usize) -> (bool, bool) {
    let threads = rayon::current_num_threads();
    if !split_macs(macs) {
        (false, false)
    } else if tasks >= threads {
        (true, false)
    } else {
        (false, true)
    }
}

/// Runs `f(index, piece)` over consecutive `len`-sized pieces of `data`, in
/// parallel when asked.
fn for_pieces<T: Send>(
    data: &mut [T],
    len: usize,
    parallel: bool,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    if len == 0 {
        return;
    }
    if parallel {
        data.par_chunks_mut(len)
            .enumerate()
            .for_each(|(i, piece)| f(i, piece));
    } else {
        data.chunks_mut(len)
            .enumerate()
            .for_each(|(i, piece)| f(i, piece));
    }
}

/// The buffers one worker reuses across its tasks: the im2col tile and
/// the column-split copy of a (sample, group)'s input (or input gradient).
struct Scratch<T> {
    col: Vec<T>,
    split: Vec<T>,
}

impl<T> Default for Scratch<T> {
    fn default() -> Self {
        Scratch {
            col: Vec::new(),
            split: Vec::new(),
        }
    }
}

/// `buf` grown to at least `len` elements, and its first `len`.
fn scratch_slice<T: Real>(buf: &mut Vec<T>, len: usize) -> &mut [T] {
    if buf.len() < len {
        buf.resize(len, zero::<T>());
    }
    &mut buf[..len]
}

/// `x` (channels × input volume) in the layout `im`'s gather reads: as is,
/// or split by column phase into `buf`.
fn gather_source<'a, T: Real>(
    im: &Im2col,
    channels: usize,
    x: &'a [T],
    buf: &'a mut Vec<T>,
) -> &'a [T] {
    if !im.splits() {
        return x;
    }
    let split = scratch_slice(buf, im.layout_len(channels));
    im.split_columns(channels, x, split);
    split
}

/// [`for_pieces`] with scratch buffers per worker (kept across its
/// tasks), so the im2col buffer is allocated and zeroed once per thread
/// rather than once per task.
fn for_pieces_scratch<T: Send, S: Send + Default>(
    data: &mut [T],
    len: usize,
    parallel: bool,
    f: impl Fn(usize, &mut [T], &mut S) + Sync + Send,
) {
    if len == 0 {
        return;
    }
    if parallel {
        data.par_chunks_mut(len)
            .enumerate()
            .for_each_init(S::default, |scratch, (i, piece)| f(i, piece, scratch));
    } else {
        let mut scratch = S::default();
        data.chunks_mut(len)
            .enumerate()
            .for_each(|(i, piece)| f(i, piece, &mut scratch));
    }
}

/// The fixed sizes one geometry's GEMM path needs.
struct Plan {
    cig: usize,
    cog: usize,
    rows: usize,
    in_vol: usize,
    out_vol: usize,
    tile: usize,
    pointwise: bool,
}

impl Plan {
    fn new<T>(g: &ConvGeometry) -> Self {
        let in_vol = g.in_size.iter().product();
        let out_vol: usize = g.out_size.iter().product();
        let rows = g.in_per_group() * g.kernel_volume();
        Plan {
            cig: g.in_per_group(),
            cog: g.out_per_group(),
            rows,
            in_vol,
            out_vol,
            tile: tile_columns(rows, out_vol, std::mem::size_of::<T>()),
            pointwise: g.is_pointwise(),
        }
    }
}

/// Whether every value is finite, which the Winograd path and the
/// few-channel input gradient need to give the definition's result: the
/// Winograd transforms add and subtract the values of a whole tile (an
/// infinite input turns into NaN in outputs whose windows never held it),
/// and the few-channel input gradient multiplies the zero border of its
/// padded output gradient by the weights, terms that the definition does
/// not have (0 · ∞ = NaN). Other data takes the GEMM path, which computes
/// only the definition's products, as torch does.
fn all_finite<T: Real>(values: &[T]) -> bool {
    // An OR over a block has no early exit, so it vectorises.
    values
        .chunks(1024)
        .all(|block| !block.iter().fold(false, |bad, v| bad | !v.is_finite()))
}

/// Whether a pass whose two operands are `a` and `b` runs through Winograd:
/// `path` chooses it for `g` and both operands are finite (see
/// [`all_finite`]).
fn takes_winograd<T: Real>(g: &ConvGeometry, path: Path, a: &[T], b: &[T]) -> bool {
    winograd::chosen(g, path) && all_finite(a) && all_finite(b)
}

/// out = conv(input, weight) + bias. `input` is (N, C_in, D, H, W) and
/// `out` (N, C_out, OD, OH, OW), both C-contiguous; padding follows
/// `g.boundary`.
pub fn forward<T: Real>(
    g: &ConvGeometry,
    input: &[T],
    weight: &[T],
    bias: Option<&[T]>,
    out: &mut [T],
    path: Path,
) {
    // A problem with no multiply-adds (an empty batch or channel axis) has
    // its answer (zeros, or the bias) from the reference loops, which touch
    // only the empty axes; the fast paths would first build per-axis tables
    // whose size can overflow when a spatial axis is huge.
    let path = if g.macs() == 0 { Path::Reference } else { path };
    if path == Path::Reference {
        return reference::forward(g, input, weight, bias, out);
    }
    if takes_winograd(g, path, input, weight) {
        return winograd::forward(g, input, weight, bias, out);
    }
    // The few-channel kernels, unless their padded copy of the input
    // cannot be allocated (then GEMM, whose scratch is tile-sized).
    if few::applies(g)
        && few::forward(
            simd::level(),
            g,
            input,
            weight,
            bias,
            out,
            split_macs(g.macs()),
        )
    {
        return;
    }
    let plan = Plan::new::<T>(g);
    if uses_direct(g, path) {
        let im = Im2col::new(g, g.boundary);
        let parallel = split_macs(g.macs());
        for_pieces(out, plan.out_vol, parallel, |task, o_plane| {
            let (n, oc) = (task / g.out_channels, task % g.out_channels);
            let ic = oc / plan.cog;
            let x_plane = &input[(n * g.in_channels + ic) * plan.in_vol..][..plan.in_vol];
            let w_taps = &weight[oc * plan.rows..][..plan.rows];
            o_plane.fill(bias.map_or(zero::<T>(), |b| b[oc]));
            im.direct_accumulate(g, x_plane, w_taps, o_plane);
        });
        return;
    }
    let im = (!plan.pointwise).then(|| Im2col::new(g, g.boundary).with_column_split(g));
    let (outer, inner) = schedule(g.batch * g.groups, g.macs());
    for_pieces_scratch(
        out,
        plan.cog * plan.out_vol,
        outer,
        |task, o_ng, scratch: &mut Scratch<T>| {
            let (n, group) = (task / g.groups, task % g.groups);
            let x_ng = &input[(n * g.in_channels + group * plan.cig) * plan.in_vol..]
                [..plan.cig * plan.in_vol];
            let w_g = &weight[group * plan.cog * plan.rows..][..plan.cog * plan.rows];
            let accumulate = if let Some(b) = bias {
                for (oc, row) in o_ng.chunks_mut(plan.out_vol).enumerate() {
                    row.fill(b[group * plan.cog + oc]);
                }
                true
            } else {
                false
            };
            let p = plan.out_vol;
            match &im {
                None => matmul(
                    (plan.cog, p, plan.cig),
                    o_ng,
                    p,
                    (w_g, plan.cig, 1),
                    (x_ng, p, 1),
                    accumulate,
                    inner,
                ),
                Some(im) => {
                    let x_src = gather_source(im, plan.cig, x_ng, &mut scratch.split);
                    let col = scratch_slice(&mut scratch.col, plan.rows * plan.tile);
                    for p0 in (0..p).step_by(plan.tile) {
                        let t = plan.tile.min(p - p0);
                        let col = &mut col[..plan.rows * t];
                        im.gather(g, x_src, p0, t, col);
                        matmul(
                            (plan.cog, t, plan.rows),
                            &mut o_ng[p0..],
                            p,
                            (w_g, plan.rows, 1),
                            (col, t, 1),
                            accumulate,
                            inner,
                        );
                    }
                }
            }
        },
    );
}

/// grad_x[n, group] (C_in/g × in volume) = the adjoint of the zero-padded
/// convolution applied to grad_y[n, group]: one (sample, group) task.
#[allow(clippy::too_many_arguments)]
fn adjoint_task<T: Real>(
    g: &ConvGeometry,
    plan: &Plan,
    im: Option<&Im2col>,
    w_g: &[T],
    dy_ng: &[T],
    dx_ng: &mut [T],
    scratch: &mut Scratch<T>,
    parallel: bool,
) {
    let p = plan.out_vol;
    match im {
        None => matmul(
            (plan.cig, p, plan.cog),
            dx_ng,
            p,
            (w_g, 1, plan.cig),
            (dy_ng, p, 1),
            false,
            parallel,
        ),
        Some(im) => {
            let col = scratch_slice(&mut scratch.col, plan.rows * plan.tile);
            let mut scatter_all = |dst: &mut [T]| {
                dst.fill(zero::<T>());
                for p0 in (0..p).step_by(plan.tile) {
                    let t = plan.tile.min(p - p0);
                    let col = &mut col[..plan.rows * t];
                    matmul(
                        (plan.rows, t, plan.cog),
                        col,
                        t,
                        (w_g, 1, plan.rows),
                        (&dy_ng[p0..], p, 1),
                        false,
                        parallel,
                    );
                    im.scatter_add(g, col, p0, t, dst);
                }
            };
            if im.splits() {
                let split = scratch_slice(&mut scratch.split, im.layout_len(plan.cig));
                scatter_all(split);
                im.merge_columns(plan.cig, split, dx_ng);
            } else {
                scatter_all(dx_ng);
            }
        }
    }
}

/// grad_input = the adjoint of the zero-padded convolution `g` applied to
/// `grad_output`. This is also the transposed convolution (without bias).
pub fn input_grad<T: Real>(
    g: &ConvGeometry,
    weight: &[T],
    grad_output: &[T],
    grad_input: &mut [T],
    path: Path,
) {
    let path = if g.macs() == 0 { Path::Reference } else { path }; // see `forward`
    if path == Path::Reference {
        return reference::input_grad(g, weight, grad_output, grad_input);
    }
    if takes_winograd(g, path, weight, grad_output) {
        return winograd::input_grad(g, weight, grad_output, grad_input);
    }
    if few::input_grad_applies(g) && all_finite(weight) {
        let parallel = split_macs(g.macs());
        return few::input_grad(simd::level(), g, weight, grad_output, grad_input, parallel);
    }
    let plan = Plan::new::<T>(g);
    if uses_direct(g, path) {
        let im = Im2col::new(g, Boundary::Constant);
        let parallel = split_macs(g.macs());
        for_pieces(grad_input, plan.in_vol, parallel, |task, dx_plane| {
            let (n, ic) = (task / g.in_channels, task % g.in_channels);
            dx_plane.fill(zero::<T>());
            // Input channel ic feeds the cog output channels of its group.
            for oc in ic * plan.cog..(ic + 1) * plan.cog {
                let dy_plane =
                    &grad_output[(n * g.out_channels + oc) * plan.out_vol..][..plan.out_vol];
                im.direct_adjoint(
                    g,
                    dy_plane,
                    &weight[oc * plan.rows..][..plan.rows],
                    dx_plane,
                );
            }
        });
        return;
    }
    let im = (!plan.pointwise).then(|| Im2col::new(g, Boundary::Constant).with_column_split(g));
    let (outer, inner) = schedule(g.batch * g.groups, g.macs());
    for_pieces_scratch(
        grad_input,
        plan.cig * plan.in_vol,
        outer,
        |task, dx_ng, scratch: &mut Scratch<T>| {
            let (n, group) = (task / g.groups, task % g.groups);
            let dy_ng = &grad_output[(n * g.out_channels + group * plan.cog) * plan.out_vol..]
                [..plan.cog * plan.out_vol];
            let w_g = &weight[group * plan.cog * plan.rows..][..plan.cog * plan.rows];
            adjoint_task(g, &plan, im.as_ref(), w_g, dy_ng, dx_ng, scratch, inner);
        },
    );
}

/// Adds Σ over the samples `samples` of grad_y[n, group] ⋆ x[n, group]
/// into `dw_g` (C_out/g × rows).
#[allow(clippy::too_many_arguments)]
fn weight_task<T: Real>(
    g: &ConvGeometry,
    plan: &Plan,
    im: Option<&Im2col>,
    x_ng: &[T],
    dy_ng: &[T],
    dw_g: &mut [T],
    scratch: &mut Scratch<T>,
    parallel: bool,
) {
    let p = plan.out_vol;
    match im {
        None => matmul(
            (plan.cog, plan.cig, p),
            dw_g,
            plan.cig,
            (dy_ng, p, 1),
            (x_ng, 1, p),
            true,
            parallel,
        ),
        Some(im) => {
            let x_src = gather_source(im, plan.cig, x_ng, &mut scratch.split);
            let col = scratch_slice(&mut scratch.col, plan.rows * plan.tile);
            for p0 in (0..p).step_by(plan.tile) {
                let t = plan.tile.min(p - p0);
                let col = &mut col[..plan.rows * t];
                im.gather(g, x_src, p0, t, col);
                matmul(
                    (plan.cog, plan.rows, t),
                    dw_g,
                    plan.rows,
                    (&dy_ng[p0..], p, 1),
                    (col, 1, t),
                    true,
                    parallel,
                );
            }
        }
    }
}

/// The samples of batch chunk `c` out of `chunks`.
fn chunk_range(batch: usize, chunks: usize, c: usize) -> std::ops::Range<usize> {
    (c * batch / chunks)..((c + 1) * batch / chunks)
}

/// Sums `partials` (chunks × len) element-wise, in chunk order, into `out`.
/// Chunk by chunk over each piece of `out`, so the adds are element-wise
/// over contiguous slices and vectorise (element by element, with the
/// chunks innermost, the sum took longer than the GEMMs of a 256-channel
/// Winograd weight gradient's chunk).
fn sum_partials<T: Real>(partials: &[T], out: &mut [T]) {
    let len = out.len();
    let parallel = split(partials.len());
    for_pieces(out, 4096, parallel, |i, piece| {
        let start = i * 4096;
        piece.fill(zero::<T>());
        for chunk in partials.chunks(len) {
            for (v, &p) in piece.iter_mut().zip(&chunk[start..]) {
                *v = *v + p;
            }
        }
    });
}

/// The input-gradient pieces (sample, C_in/g × volume) one task owns.
type SamplePieces<'a, T> = Vec<(usize, &'a mut [T])>;

/// Runs the weight-gradient tasks: partial sums per (batch chunk, group),
/// each over its samples in order, then summed in chunk order. When
/// `grad_input` is given, the same tasks also compute each of their
/// samples' input gradient (sharing the pass over grad_output).
fn weight_and_input<T: Real>(
    g: &ConvGeometry,
    input: &[T],
    weight: &[T],
    grad_output: &[T],
    grad_weight: &mut [T],
    grad_input: Option<&mut [T]>,
) -> crate::error::Result<()> {
    let plan = Plan::new::<T>(g);
    let im_gather =
        (!plan.pointwise).then(|| Im2col::new(g, Boundary::Constant).with_column_split(g));
    let weight_len = grad_weight.len();
    let chunks = weight_chunks(g.batch, weight_len, std::mem::size_of::<T>());
    let tasks = chunks * g.groups;
    let macs = if grad_input.is_some() {
        g.macs().saturating_mul(2)
    } else {
        g.macs()
    };
    let (outer, inner) = schedule(tasks, macs);
    let piece = plan.cog * plan.rows;

    // Each task owns its samples' input-gradient pieces (n, group).
    let mut dx_pieces: Vec<SamplePieces<'_, T>> = (0..tasks).map(|_| Vec::new()).collect();
    if let Some(dx) = grad_input {
        for (i, dx_ng) in dx.chunks_mut(plan.cig * plan.in_vol).enumerate() {
            let (n, group) = (i / g.groups, i % g.groups);
            let c = (0..chunks)
                .find(|&c| chunk_range(g.batch, chunks, c).contains(&n))
                .unwrap_or(0);
            dx_pieces[c * g.groups + group].push((n, dx_ng));
        }
    }
    if piece == 0 {
        // No output channels: the input gradient is zero.
        for (_, dx) in dx_pieces.iter_mut().flatten() {
            dx.fill(zero::<T>());
        }
        return Ok(());
    }
    let run = |(task, (dw_g, dx_list)): (usize, (&mut [T], &mut SamplePieces<'_, T>))| {
        let (c, group) = (task / g.groups, task % g.groups);
        let mut scratch = Scratch::default();
        let mut dx_list = dx_list.iter_mut().peekable();
        for n in chunk_range(g.batch, chunks, c) {
            let x_ng = &input[(n * g.in_channels + group * plan.cig) * plan.in_vol..]
                [..plan.cig * plan.in_vol];
            let dy_ng = &grad_output[(n * g.out_channels + group * plan.cog) * plan.out_vol..]
                [..plan.cog * plan.out_vol];
            weight_task(
                g,
                &plan,
                im_gather.as_ref(),
                x_ng,
                dy_ng,
                dw_g,
                &mut scratch,
                inner,
            );
            if let Some((_, dx_ng)) = dx_list.next_if(|entry| entry.0 == n) {
                let w_g = &weight[group * piece..][..piece];
                adjoint_task(
                    g,
                    &plan,
                    im_gather.as_ref(),
                    w_g,
                    dy_ng,
                    dx_ng,
                    &mut scratch,
                    inner,
                );
            }
        }
    };
    let mut run_all = |partials: &mut [T]| {
        let work = partials
            .chunks_mut(piece)
            .zip(dx_pieces.iter_mut())
            .enumerate();
        if outer {
            work.collect::<Vec<_>>().into_par_iter().for_each(run);
        } else {
            work.for_each(run);
        }
    };
    if chunks == 1 {
        grad_weight.fill(zero::<T>());
        run_all(grad_weight);
    } else {
        let mut partials = crate::buffer::try_filled(chunks * weight_len, zero::<T>())?;
        run_all(&mut partials);
        sum_partials(&partials, grad_weight);
    }
    Ok(())
}

/// grad_weight = Σ_n grad_output[n] ⋆ input[n] (zero padding), summed over
/// the batch in fixed chunks combined in order.
pub fn weight_grad<T: Real>(
    g: &ConvGeometry,
    input: &[T],
    grad_output: &[T],
    grad_weight: &mut [T],
    path: Path,
) -> crate::error::Result<()> {
    let path = if g.macs() == 0 { Path::Reference } else { path }; // see `forward`
    if path == Path::Reference {
        reference::weight_grad(g, input, grad_output, grad_weight);
        return Ok(());
    }
    if takes_winograd(g, path, input, grad_output) {
        return winograd::weight_grad(g, input, grad_output, grad_weight);
    }
    if few::applies(g) {
        let parallel = split_macs(g.macs());
        if few::weight_grad(simd::level(), g, input, grad_output, grad_weight, parallel) {
            return Ok(());
        }
    }
    weight_and_input(g, input, &[], grad_output, grad_weight, None)
}

/// grad_bias[c] = Σ over samples and positions of grad_output[n, c], in a
/// fixed order.
pub fn bias_grad<T: Real>(g: &ConvGeometry, grad_output: &[T], grad_bias: &mut [T]) {
    let out_vol: usize = g.out_size.iter().product();
    let parallel = split(grad_output.len());
    for_pieces(grad_bias, 1, parallel, |oc, b| {
        let mut total = zero::<T>();
        for n in 0..g.batch {
            let plane = &grad_output[(n * g.out_channels + oc) * out_vol..][..out_vol];
            // Eight running sums: vectorisable, and a fixed order.
            let mut lanes = [zero::<T>(); 8];
            let mut chunks = plane.chunks_exact(8);
            for c in &mut chunks {
                for (l, &v) in lanes.iter_mut().zip(c) {
                    *l = *l + v;
                }
            }
            let mut s = chunks.remainder().iter().fold(zero::<T>(), |a, &v| a + v);
            for l in lanes {
                s = s + l;
            }
            total = total + s;
        }
        b[0] = total;
    });
}

/// All three gradients in one call: the weight and input gradients share
/// one pass over grad_output.
#[allow(clippy::too_many_arguments)]
pub fn backward<T: Real>(
    g: &ConvGeometry,
    input: &[T],
    weight: &[T],
    grad_output: &[T],
    grad_input: &mut [T],
    grad_weight: &mut [T],
    grad_bias: &mut [T],
    path: Path,
) -> crate::error::Result<()> {
    let path = if g.macs() == 0 { Path::Reference } else { path }; // see `forward`
    if path == Path::Reference {
        reference::input_grad(g, weight, grad_output, grad_input);
        reference::weight_grad(g, input, grad_output, grad_weight);
    } else if uses_direct(g, path) || winograd::chosen(g, path) || few::applies(g) {
        input_grad(g, weight, grad_output, grad_input, path);
        weight_grad(g, input, grad_output, grad_weight, path)?;
    } else {
        weight_and_input(g, input, weight, grad_output, grad_weight, Some(grad_input))?;
    }
    bias_grad(g, grad_output, grad_bias);
    Ok(())
}

/// The transposed convolution: `g` is the forward convolution whose output
/// is `input` here (see [`ConvGeometry::transposed`]); `out` gets the
/// adjoint plus `bias` per output channel (`g.in_channels` of them).
pub fn transposed<T: Real>(
    g: &ConvGeometry,
    input: &[T],
    weight: &[T],
    bias: Option<&[T]>,
    out: &mut [T],
    path: Path,
) {
    input_grad(g, weight, input, out, path);
    if let Some(b) = bias {
        let in_vol: usize = g.in_size.iter().product();
        for (i, plane) in out.chunks_mut(in_vol.max(1)).enumerate() {
            let v = b[i % g.in_channels.max(1)];
            for x in plane {
                *x = *x + v;
            }
        }
    }
}

#[cfg(test)]
mod tests;
