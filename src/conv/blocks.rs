//! The GEMM path when there are fewer (sample, group) tasks than threads
//! (batch-1 inference, above all): the tiles of output positions become
//! the tasks.
//!
//! Splitting each tile's GEMM across the threads instead cost more than it
//! gained on the small matrices of one sample: on the 2-core machine a
//! (1, 16, 112, 112)→16 3×3 layer took 0.58–0.84 ms on two threads against
//! 0.41–0.54 ms on one. With the tiles as tasks (interleaved, two threads,
//! new / old time): that layer 0.47–0.55× forward, 0.66–0.72× forward +
//! backward; (1, 3, 224, 224)→64 7×7/2 0.69–0.74× and 0.83–0.85×;
//! (1, 64, 56, 56)→128 3×3/2 0.85–0.90× and 0.83–0.95×.
//!
//! Every tile runs exactly the GEMM calls of the one-task-per-sample path,
//! in the same order per output element, so the results are the same bits
//! whichever path a thread count chooses:
//! - forward: each tile writes its own columns of the output;
//! - input gradient: the tiles' column matrices are computed in parallel
//!   in waves, then each input channel's plane adds the wave's tiles in
//!   tile order (a channel's im2col rows touch only its own plane).
//!
//! The weight gradient's tasks are cut into blocks of input channels
//! instead (`channel_blocks`), each owning columns of dW through
//! [`SharedColumns`].

use super::im2col::Im2col;
use super::params::ConvGeometry;
use super::{Plan, Scratch, gather_source, matmul_raw, zero};
use crate::element::Real;
use crate::error::Result;
use rayon::prelude::*;
use std::borrow::Cow;
use std::marker::PhantomData;

/// Bytes of the column matrices one wave of the input gradient holds. They
/// are cleared on allocation, serially: 8 MiB waves made the batch-1 input
/// gradients 2–13 % slower than 2 MiB ones on two threads.
const WAVE_BYTES: usize = 2 << 20;

/// Columns `p0 .. p0 + cols` of `rows` rows at stride `stride` (one tile of
/// a task's output), writable by the one task that holds the view.
pub(super) struct ColumnBlock<'a, T> {
    ptr: *mut T,
    rows: usize,
    cols: usize,
    stride: usize,
    _borrow: PhantomData<&'a mut [T]>,
}

impl<'a, T: Real> ColumnBlock<'a, T> {
    /// The first `cols` columns of `rows` rows of `data` at stride `stride`.
    pub(super) fn new(data: &'a mut [T], rows: usize, cols: usize, stride: usize) -> Self {
        assert!(
            rows == 0 || cols == 0 || (rows - 1) * stride + cols <= data.len(),
            "column block out of bounds"
        );
        ColumnBlock {
            ptr: data.as_mut_ptr(),
            rows,
            cols,
            stride,
            _borrow: PhantomData,
        }
    }

    pub(super) fn cols(&self) -> usize {
        self.cols
    }

    /// Row `r` of the block (its `cols` elements).
    pub(super) fn row(&mut self, r: usize) -> &mut [T] {
        assert!(r < self.rows, "column block: row out of range");
        // SAFETY: inside the block (asserted here and in `new`/`block`),
        // which this view owns; `&mut self` keeps it from handing the row
        // out twice at once.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(r * self.stride), self.cols) }
    }

    /// block = (accumulate ? block : 0) + lhs (rows × k) × rhs (k × cols).
    pub(super) fn matmul(
        &mut self,
        k: usize,
        lhs: (&[T], usize, usize),
        rhs: (&[T], usize, usize),
        accumulate: bool,
        parallel: bool,
    ) {
        // SAFETY: the block's rows × cols elements at stride `stride` are
        // in bounds (checked when the view was made) and owned by this view
        // for its lifetime; lhs and rhs are shared borrows, so they cannot
        // alias it.
        unsafe {
            matmul_raw(
                (self.rows, self.cols, k),
                self.ptr,
                self.stride,
                lhs,
                rhs,
                accumulate,
                parallel,
            )
        }
    }
}

/// A whole output of tasks × `rows` × `stride` elements, shared by tasks
/// that each own some columns of one task's rows (a tile of its output
/// positions, or a block of input channels of its weight gradient).
pub(super) struct SharedColumns<T> {
    ptr: *mut T,
    len: usize,
    rows: usize,
    stride: usize,
}

// SAFETY: a SharedColumns only hands out `ColumnBlock`s through `block`,
// whose contract makes the blocks of concurrent tasks disjoint.
unsafe impl<T: Send> Send for SharedColumns<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SharedColumns<T> {}

impl<T: Real> SharedColumns<T> {
    pub(super) fn new(out: &mut [T], rows: usize, stride: usize) -> Self {
        SharedColumns {
            ptr: out.as_mut_ptr(),
            len: out.len(),
            rows,
            stride,
        }
    }

    /// Columns `p0 .. p0 + t` of task `task`'s rows.
    ///
    /// # Safety
    /// No other live block may cover any of these columns of this task, and
    /// the `&mut` borrow `new` was given must outlive every block.
    pub(super) unsafe fn block(&self, task: usize, p0: usize, t: usize) -> ColumnBlock<'_, T> {
        assert!(p0 + t <= self.stride, "column block: columns out of range");
        let at = task * self.rows * self.stride + p0;
        assert!(
            self.rows == 0 || t == 0 || at + (self.rows - 1) * self.stride + t <= self.len,
            "column block: task out of range"
        );
        ColumnBlock {
            // SAFETY: `at` is inside the output (asserted).
            ptr: unsafe { self.ptr.add(at) },
            rows: self.rows,
            cols: t,
            stride: self.stride,
            _borrow: PhantomData,
        }
    }
}

/// Every (task, first column, columns) of `tasks` tasks, task-major.
fn tile_work(plan: &Plan, tasks: usize) -> Vec<(usize, usize, usize)> {
    (0..tasks)
        .flat_map(|task| plan.tiles().map(move |(p0, t)| (task, p0, t)))
        .collect()
}

/// The forward GEMM path with the tiles as tasks (see the module docs).
#[allow(clippy::too_many_arguments)]
pub(super) fn forward<T: Real>(
    g: &ConvGeometry,
    plan: &Plan,
    im: Option<&Im2col>,
    input: &[T],
    weight: &[T],
    bias: Option<&[T]>,
    out: &mut [T],
) {
    let tasks = g.batch * g.groups;
    // The gather source of each task, split by column phase once rather
    // than once per tile (a copy of the input at most: there are fewer
    // tasks than threads).
    let sources: Vec<Cow<'_, [T]>> = (0..tasks)
        .map(|task| {
            let x_ng = super::task_input(g, plan, input, task);
            match im {
                Some(im) if im.splits() => {
                    let mut buf = Vec::new();
                    gather_source(im, plan.cig, x_ng, &mut buf);
                    Cow::Owned(buf)
                }
                _ => Cow::Borrowed(x_ng),
            }
        })
        .collect();
    let work = tile_work(plan, tasks);
    // Too few tiles to keep the threads busy: split each tile's GEMM too.
    let parallel = work.len() < rayon::current_num_threads();
    let shared = SharedColumns::new(out, plan.cog, plan.out_vol);
    work.into_par_iter()
        .for_each_init(Scratch::default, |scratch, (task, p0, t)| {
            // SAFETY: every (task, p0) occurs once in the work list and the
            // tiles of a task are disjoint column ranges; `out` stays
            // borrowed by `shared` for the whole loop.
            let mut dst = unsafe { shared.block(task, p0, t) };
            super::forward_tile(
                g,
                plan,
                im,
                &sources[task],
                weight,
                bias,
                (task, p0),
                &mut dst,
                &mut scratch.col,
                parallel,
            );
        });
}

/// The input gradient's GEMM path with the tiles as tasks (see the module
/// docs); `grad_input` is overwritten.
pub(super) fn adjoint<T: Real>(
    g: &ConvGeometry,
    plan: &Plan,
    im: Option<&Im2col>,
    weight: &[T],
    grad_output: &[T],
    grad_input: &mut [T],
) -> Result<()> {
    let tasks = g.batch * g.groups;
    let work = tile_work(plan, tasks);
    let threads = rayon::current_num_threads();
    let Some(im) = im else {
        // 1×1: each tile's columns of the input gradient are one GEMM.
        let parallel = work.len() < threads;
        let shared = SharedColumns::new(grad_input, plan.cig, plan.out_vol);
        work.into_par_iter().for_each(|(task, p0, t)| {
            // SAFETY: as in `forward`.
            let mut dst = unsafe { shared.block(task, p0, t) };
            super::adjoint_pointwise_tile(
                g,
                plan,
                weight,
                grad_output,
                (task, p0),
                &mut dst,
                parallel,
            );
        });
        return Ok(());
    };
    // Where each task's gradient is summed: in place, or in a column-split
    // copy merged back at the end.
    let plane = im.layout_len(1);
    let mut split = if im.splits() {
        crate::buffer::try_filled(tasks * im.layout_len(plan.cig), zero::<T>())?
    } else {
        grad_input.fill(zero::<T>());
        Vec::new()
    };
    let sums: &mut [T] = if im.splits() { &mut split } else { grad_input };
    let mut planes: Vec<(usize, usize, &mut [T])> = sums
        .chunks_mut(plane.max(1))
        .enumerate()
        .map(|(i, p)| (i / plan.cig.max(1), i % plan.cig.max(1), p))
        .collect();
    let col_len = plan.rows * plan.tile;
    let per_wave =
        (WAVE_BYTES / (col_len * std::mem::size_of::<T>()).max(1)).clamp(1, work.len().max(1));
    let mut cols = crate::buffer::try_filled(per_wave * col_len, zero::<T>())?;
    let taps = plan.rows / plan.cig.max(1);
    for wave in work.chunks(per_wave) {
        let parallel = wave.len() < threads;
        cols.par_chunks_mut(col_len)
            .zip(wave.par_iter())
            .for_each(|(col, &(task, p0, t))| {
                super::adjoint_col(g, plan, weight, grad_output, (task, p0, t), col, parallel);
            });
        let cols = &cols;
        planes.par_iter_mut().for_each(|(task, c, dst)| {
            for (i, &(owner, p0, t)) in wave.iter().enumerate() {
                if owner == *task {
                    let rows = &cols[i * col_len..][*c * taps * t..][..taps * t];
                    im.scatter_add(g, 1, rows, p0, t, dst);
                }
            }
        });
    }
    if im.splits() {
        let layout = im.layout_len(plan.cig);
        grad_input
            .par_chunks_mut(plan.cig * plan.in_vol)
            .zip(split.par_chunks(layout))
            .for_each(|(dx_ng, s)| im.merge_columns(plan.cig, s, dx_ng));
    }
    Ok(())
}
