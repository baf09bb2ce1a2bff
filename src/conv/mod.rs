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
//! With fewer (sample, group) tasks than threads the tiles are the tasks
//! (see [`blocks`]).
//!
//! GEMM engine choice, measured single-threaded on this machine (AMD EPYC
//! Zen, AVX2+FMA, float32) for (M, K, N) = (C_out, rows, tile):
//! (64, 576, 1024): gemm 0.19 69 GFLOP/s, matrixmultiply 0.3 57;
//! (256, 2304, 196): 84 / 77; (128, 128, 784): 87 / 81; (64, 147, 1024):
//! 77 / 69; (32, 25, 576): 77 / 67. gemm is 8–20 % faster on every shape.

pub mod few;
pub mod params;
pub mod reference;

mod blocks;
mod im2col;
mod winograd;

use crate::element::Real;
use crate::pad::Boundary;
use crate::simd;
use crate::threads::split;
use blocks::ColumnBlock;
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

/// Fewest output positions per tile when a task's positions are cut into
/// more tiles than its column matrix needs (see [`tile_columns`]).
const MIN_TILE_COLUMNS: usize = 128;

/// Tiles a call's positions are cut into at least, over all its (sample,
/// group) tasks, where each tile keeps [`MIN_TILE_COLUMNS`]: enough that
/// the tiles of one sample can keep the threads busy (see [`blocks`]).
/// Larger batches keep the tiles their column matrices allow, since every
/// GEMM call packs the weights again (eight tiles per sample made the
/// (8, 128, 28, 28)→128 1×1 layer 10–18 % slower), and so do 1×1 layers,
/// whose one GEMM per sample `gemm` splits across the threads as fast as
/// tiles would run ((1, 128, 28, 28)→128 was 10–17 % slower in 4 tiles).
const MIN_TILES: usize = 4;

/// Output positions per tile for a column matrix of `rows` rows, in a call
/// of `tasks` (sample, group) tasks: within [`TILE_BYTES`], of equal size,
/// and for im2col (not `pointwise`) at least [`MIN_TILES`] tiles in all
/// where positions allow. From the shape alone, so the GEMM calls (and
/// every bit of the result) are the same for every thread count.
fn tile_columns(
    rows: usize,
    positions: usize,
    tasks: usize,
    pointwise: bool,
    elem: usize,
) -> usize {
    let by_budget = (TILE_BYTES / rows.saturating_mul(elem).max(1)).max(MIN_TILE_COLUMNS);
    let wanted = if pointwise {
        1
    } else {
        MIN_TILES.div_ceil(tasks.max(1))
    };
    let tiles = positions
        .div_ceil(by_budget)
        .max((positions / MIN_TILE_COLUMNS).min(wanted))
        .max(1);
    positions.div_ceil(tiles).max(1)
}

/// dst[m × n] (row stride `dst_rs`) = (accumulate ? dst : 0) + lhs × rhs,
/// with lhs and rhs given as (slice, row stride, column stride).
#[allow(clippy::too_many_arguments)]
fn matmul<T: Real>(
    (m, n, k): (usize, usize, usize),
    dst: &mut [T],
    dst_rs: usize,
    lhs: (&[T], usize, usize),
    rhs: (&[T], usize, usize),
    accumulate: bool,
    parallel: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        (m - 1) * dst_rs + n <= dst.len(),
        "matmul: dst out of bounds"
    );
    // SAFETY: dst's m rows of n elements at stride dst_rs lie inside the
    // unique borrow `dst` (asserted), which aliases neither input.
    unsafe {
        matmul_raw(
            (m, n, k),
            dst.as_mut_ptr(),
            dst_rs,
            lhs,
            rhs,
            accumulate,
            parallel,
        )
    }
}

/// [`matmul`] into a destination given by pointer: the shared output views
/// of the tile tasks (see [`blocks`]) hand out column blocks of rows that
/// other tasks write too, which no `&mut` slice can express.
///
/// # Safety
/// The m rows of n elements at `dst`, `dst + dst_rs`, ... must be valid for
/// writes, and no other thread may read or write them during the call; they
/// must not overlap `lhs` or `rhs`.
#[allow(clippy::too_many_arguments)]
unsafe fn matmul_raw<T: Real>(
    (m, n, k): (usize, usize, usize),
    dst: *mut T,
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
                // SAFETY: row `row` of dst is valid for writes (contract).
                unsafe { std::slice::from_raw_parts_mut(dst.add(row * dst_rs), n) }
                    .fill(zero::<T>());
            }
        }
        return;
    }
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
    // SAFETY: the asserts above keep every element gemm reads (lhs, rhs)
    // inside its slice, the contract every element it writes (dst) inside
    // memory this call owns, aliasing neither input. The strides are slice
    // offsets and fit in isize.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
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
            tile: tile_columns(
                rows,
                out_vol,
                g.batch * g.groups,
                g.is_pointwise(),
                std::mem::size_of::<T>(),
            ),
            pointwise: g.is_pointwise(),
        }
    }

    /// The tiles of one task's output positions: (first position, count).
    fn tiles(&self) -> impl Iterator<Item = (usize, usize)> + use<> {
        let (p, tile) = (self.out_vol, self.tile.max(1));
        (0..p).step_by(tile).map(move |p0| (p0, tile.min(p - p0)))
    }
}

/// Input channels of (sample, group) task `task` (C_in/g × input volume).
fn task_input<'a, T>(g: &ConvGeometry, plan: &Plan, input: &'a [T], task: usize) -> &'a [T] {
    let (n, group) = (task / g.groups, task % g.groups);
    &input[(n * g.in_channels + group * plan.cig) * plan.in_vol..][..plan.cig * plan.in_vol]
}

/// Output channels of (sample, group) task `task` in an output-shaped
/// array (C_out/g × output volume).
fn task_output<'a, T>(g: &ConvGeometry, plan: &Plan, out: &'a [T], task: usize) -> &'a [T] {
    let (n, group) = (task / g.groups, task % g.groups);
    &out[(n * g.out_channels + group * plan.cog) * plan.out_vol..][..plan.cog * plan.out_vol]
}

/// The weights of group `group` (C_out/g × rows).
fn group_weight<'a, T>(plan: &Plan, weight: &'a [T], group: usize) -> &'a [T] {
    &weight[group * plan.cog * plan.rows..][..plan.cog * plan.rows]
}

/// One forward tile: the bias, then + W_g × col, into the columns `dst` of
/// (sample, group) `task` from position `p0`. `x_src` is the task's input
/// in the layout `im` gathers from.
#[allow(clippy::too_many_arguments)]
fn forward_tile<T: Real>(
    g: &ConvGeometry,
    plan: &Plan,
    im: Option<&Im2col>,
    x_src: &[T],
    weight: &[T],
    bias: Option<&[T]>,
    (task, p0): (usize, usize),
    dst: &mut ColumnBlock<'_, T>,
    col: &mut Vec<T>,
    parallel: bool,
) {
    let group = task % g.groups;
    let w_g = group_weight(plan, weight, group);
    if let Some(b) = bias {
        for oc in 0..plan.cog {
            dst.row(oc).fill(b[group * plan.cog + oc]);
        }
    }
    let accumulate = bias.is_some();
    let t = dst.cols();
    match im {
        None => dst.matmul(
            plan.cig,
            (w_g, plan.cig, 1),
            (&x_src[p0..], plan.out_vol, 1),
            accumulate,
            parallel,
        ),
        Some(im) => {
            let col = scratch_slice(col, plan.rows * t);
            im.gather(g, plan.cig, x_src, p0, t, col);
            dst.matmul(
                plan.rows,
                (w_g, plan.rows, 1),
                (col, t, 1),
                accumulate,
                parallel,
            );
        }
    }
}

/// The column matrix of one input-gradient tile: col (rows × t) = W_gᵀ ×
/// the tile's columns of task `task`'s output gradient.
fn adjoint_col<T: Real>(
    g: &ConvGeometry,
    plan: &Plan,
    weight: &[T],
    grad_output: &[T],
    (task, p0, t): (usize, usize, usize),
    col: &mut [T],
    parallel: bool,
) {
    let w_g = group_weight(plan, weight, task % g.groups);
    let dy_ng = task_output(g, plan, grad_output, task);
    matmul(
        (plan.rows, t, plan.cog),
        col,
        t,
        (w_g, 1, plan.rows),
        (&dy_ng[p0..], plan.out_vol, 1),
        false,
        parallel,
    );
}

/// One 1×1 input-gradient tile: the columns `dst` of task `task`'s input
/// gradient from position `p0` = W_gᵀ × the same columns of its output
/// gradient.
fn adjoint_pointwise_tile<T: Real>(
    g: &ConvGeometry,
    plan: &Plan,
    weight: &[T],
    grad_output: &[T],
    (task, p0): (usize, usize),
    dst: &mut ColumnBlock<'_, T>,
    parallel: bool,
) {
    let w_g = group_weight(plan, weight, task % g.groups);
    let dy_ng = task_output(g, plan, grad_output, task);
    dst.matmul(
        plan.cog,
        (w_g, 1, plan.cig),
        (&dy_ng[p0..], plan.out_vol, 1),
        false,
        parallel,
    );
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
    // The direct kernels, unless their padded copy of the input cannot be
    // allocated (then GEMM, whose scratch is tile-sized); before Winograd
    // for few input channels (see `few::BEFORE_WINOGRAD_BELOW`).
    let direct = few::forward_applies::<T>(g, simd::level()) && path != Path::Winograd;
    let direct_first = direct && g.in_per_group() < few::BEFORE_WINOGRAD_BELOW;
    if !direct_first && takes_winograd(g, path, input, weight) {
        return winograd::forward(g, input, weight, bias, out);
    }
    if direct
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
    if inner {
        return blocks::forward(g, &plan, im.as_ref(), input, weight, bias, out);
    }
    for_pieces_scratch(
        out,
        plan.cog * plan.out_vol,
        outer,
        |task, o_ng, scratch: &mut Scratch<T>| {
            let x_ng = task_input(g, &plan, input, task);
            let x_src = match &im {
                Some(im) => gather_source(im, plan.cig, x_ng, &mut scratch.split),
                None => x_ng,
            };
            for (p0, t) in plan.tiles() {
                let mut dst = ColumnBlock::new(&mut o_ng[p0..], plan.cog, t, plan.out_vol);
                forward_tile(
                    g,
                    &plan,
                    im.as_ref(),
                    x_src,
                    weight,
                    bias,
                    (task, p0),
                    &mut dst,
                    &mut scratch.col,
                    false,
                );
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
    weight: &[T],
    grad_output: &[T],
    task: usize,
    dx_ng: &mut [T],
    scratch: &mut Scratch<T>,
    parallel: bool,
) {
    let Some(im) = im else {
        for (p0, t) in plan.tiles() {
            let mut dst = ColumnBlock::new(&mut dx_ng[p0..], plan.cig, t, plan.out_vol);
            adjoint_pointwise_tile(g, plan, weight, grad_output, (task, p0), &mut dst, parallel);
        }
        return;
    };
    let col = scratch_slice(&mut scratch.col, plan.rows * plan.tile);
    let mut scatter_all = |dst: &mut [T]| {
        dst.fill(zero::<T>());
        for (p0, t) in plan.tiles() {
            let col = &mut col[..plan.rows * t];
            adjoint_col(g, plan, weight, grad_output, (task, p0, t), col, parallel);
            im.scatter_add(g, plan.cig, col, p0, t, dst);
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
    if few::input_grad_applies_simd::<T>(g, simd::level())
        && all_finite(weight)
        && few::input_grad(
            simd::level(),
            g,
            weight,
            grad_output,
            grad_input,
            split_macs(g.macs()),
        )
    {
        return;
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
    adjoint_all(g, &plan, im.as_ref(), weight, grad_output, grad_input);
}

/// The GEMM path of the input gradient: one task per (sample, group), or
/// the tiles as tasks when there are fewer of those than threads.
fn adjoint_all<T: Real>(
    g: &ConvGeometry,
    plan: &Plan,
    im: Option<&Im2col>,
    weight: &[T],
    grad_output: &[T],
    grad_input: &mut [T],
) {
    let (outer, inner) = schedule(g.batch * g.groups, g.macs());
    // (When the tile path cannot allocate its column matrices, the
    // one-task-per-sample path needs only one tile per thread.)
    if inner && blocks::adjoint(g, plan, im, weight, grad_output, grad_input).is_ok() {
        return;
    }
    for_pieces_scratch(
        grad_input,
        plan.cig * plan.in_vol,
        outer,
        |task, dx_ng, scratch: &mut Scratch<T>| {
            adjoint_task(
                g,
                plan,
                im,
                weight,
                grad_output,
                task,
                dx_ng,
                scratch,
                inner,
            );
        },
    );
}

/// Adds grad_y[n, group] ⋆ x[n, group] restricted to the input channels
/// `channels` of the group into `dw`, the columns of those channels' rows
/// of dW_g (C_out/g × rows).
#[allow(clippy::too_many_arguments)]
fn weight_task<T: Real>(
    g: &ConvGeometry,
    plan: &Plan,
    im: Option<&Im2col>,
    x_ng: &[T],
    dy_ng: &[T],
    channels: std::ops::Range<usize>,
    dw: &mut ColumnBlock<'_, T>,
    scratch: &mut Scratch<T>,
    parallel: bool,
) {
    let p = plan.out_vol;
    let x_c = &x_ng[channels.start * plan.in_vol..][..channels.len() * plan.in_vol];
    match im {
        None => dw.matmul(p, (dy_ng, p, 1), (x_c, 1, p), true, parallel),
        Some(im) => {
            let x_src = gather_source(im, channels.len(), x_c, &mut scratch.split);
            let rows = dw.cols();
            let col = scratch_slice(&mut scratch.col, rows * plan.tile);
            for (p0, t) in plan.tiles() {
                let col = &mut col[..rows * t];
                im.gather(g, channels.len(), x_src, p0, t, col);
                dw.matmul(t, (&dy_ng[p0..], p, 1), (col, 1, t), true, parallel);
            }
        }
    }
}

/// Blocks of input channels each weight-gradient task is cut into: one
/// when there are [`MIN_TILES`] (batch chunk, group) tasks, else enough
/// blocks to make that many (at most one per channel). From the shape
/// alone, like the tiles. A block gathers only its own channels' rows of
/// the column matrix, so the cut adds no im2col work. A 1×1 layer keeps
/// whole tasks: its blocks would be GEMMs a few columns wide over every
/// position ((1, 64, 56, 56)→256 took twice as long in blocks of 8).
fn channel_blocks(plan: &Plan, tasks: usize) -> usize {
    if plan.pointwise {
        return 1;
    }
    MIN_TILES.div_ceil(tasks.max(1)).min(plan.cig).max(1)
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

/// Runs the weight-gradient tasks: partial sums per (batch chunk, group,
/// block of input channels), each over its samples in order, then the
/// chunks summed in chunk order. When `grad_input` is given, it is computed
/// too: by the same tasks, sharing their pass over grad_output, when the
/// tasks are whole groups; in its own pass when they are channel blocks.
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
    let cblocks = channel_blocks(&plan, tasks);
    // Where the input gradient's own pass would take its tiles as tasks
    // (`adjoint_all`'s schedule; see `blocks`), it runs apart; the GEMM
    // calls, and so the bits, are the same either way.
    let tiles_as_tasks = schedule(g.batch * g.groups, g.macs()).1;
    let whole_tasks = cblocks == 1 && !tiles_as_tasks;
    let (grad_input, separate_dx) = if whole_tasks {
        (grad_input, None)
    } else {
        (None, grad_input)
    };
    let macs = if grad_input.is_some() {
        g.macs().saturating_mul(2)
    } else {
        g.macs()
    };
    let items = tasks * cblocks;
    let (outer, inner) = schedule(items, macs);
    let piece = plan.cog * plan.rows;

    // Each whole-group task owns its samples' input-gradient pieces (n, group).
    let mut dx_pieces: Vec<SamplePieces<'_, T>> = (0..items).map(|_| Vec::new()).collect();
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
        if let Some(dx) = separate_dx {
            dx.fill(zero::<T>());
        }
        return Ok(());
    }
    // Kernel taps per input channel (rows of the column matrix per channel).
    let taps = plan.rows / plan.cig;
    let run = |shared: &blocks::SharedColumns<T>,
               (item, dx_list): (usize, &mut SamplePieces<'_, T>)| {
        let (task, block) = (item / cblocks, item % cblocks);
        let (c, group) = (task / g.groups, task % g.groups);
        let channels = chunk_range(plan.cig, cblocks, block);
        // SAFETY: each item occurs once, and the channel blocks of a task
        // are disjoint column ranges of its dW_g.
        let mut dw = unsafe { shared.block(task, channels.start * taps, channels.len() * taps) };
        let mut scratch = Scratch::default();
        let mut dx_list = dx_list.iter_mut().peekable();
        for n in chunk_range(g.batch, chunks, c) {
            let task_ng = n * g.groups + group;
            let dy_ng = task_output(g, &plan, grad_output, task_ng);
            weight_task(
                g,
                &plan,
                im_gather.as_ref(),
                task_input(g, &plan, input, task_ng),
                dy_ng,
                channels.clone(),
                &mut dw,
                &mut scratch,
                inner,
            );
            if let Some((_, dx_ng)) = dx_list.next_if(|entry| entry.0 == n) {
                adjoint_task(
                    g,
                    &plan,
                    im_gather.as_ref(),
                    weight,
                    grad_output,
                    task_ng,
                    dx_ng,
                    &mut scratch,
                    inner,
                );
            }
        }
    };
    let mut run_all = |partials: &mut [T]| {
        let shared = blocks::SharedColumns::new(partials, plan.cog, plan.rows);
        let work = dx_pieces.iter_mut().enumerate();
        if outer {
            work.collect::<Vec<_>>()
                .into_par_iter()
                .for_each(|item| run(&shared, item));
        } else {
            work.for_each(|item| run(&shared, item));
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
    if let Some(dx) = separate_dx {
        adjoint_all(g, &plan, im_gather.as_ref(), weight, grad_output, dx);
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
    if few::weight_grad_applies_simd::<T>(g, simd::level()) {
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
    } else if uses_direct(g, path)
        || winograd::chosen(g, path)
        || few::weight_grad_applies_simd::<T>(g, simd::level())
        || few::input_grad_applies_simd::<T>(g, simd::level())
    {
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
