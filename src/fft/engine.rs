//! The FFT convolution engine: blocked circular convolution on fast lengths.
//!
//! The output window is cut, along each transformed axis, into blocks. Block
//! `[o, o + B)` of the full result needs the first input only over
//! `[a, b) = [max(o − k + 1, 0), min(o + B, n))` (k is the second input's
//! length). That data span, zero-padded to the transform length L, is
//! convolved circularly with the second input; output position p sits at
//! circular index q = p − a. Nothing wraps onto the needed indices when
//! L ≥ q_max + 1 and L ≥ (b − a) + k − 1 − q_min (the terms that wrap then
//! only meet zero padding), and L ≥ k so the second input fits.
//!
//! One block per axis is plain FFT convolution (scipy's fftconvolve, on a
//! transform just long enough for the window instead of the full result).
//! Many blocks is the overlap-save form of block convolution: every output
//! element is written by exactly one block, so blocks run in parallel with
//! their own scratch and no sums cross blocks (results do not depend on the
//! thread count). The second input's spectrum is computed once per call.
//!
//! Transforms: the last transformed axis is a row transform (real-to-complex
//! for real elements), every other axis a complex transform applied to
//! blocks of columns gathered into contiguous scratch. Forward passes skip
//! lines that are still all zero padding; inverse passes skip lines outside
//! the output window.

use super::element::{CachedPlanners, ComplexPlans, FftElement, RowScratch};
use super::geometry::FftConvGeometry;
use crate::buffer::{checked_product, ensure_allocatable, try_filled};
use crate::error::{Error, Result};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMut2, ArrayViewMutD, Axis, IxDyn, Slice, Zip};
use num_complex::Complex;
use num_traits::FromPrimitive;
use rayon::prelude::*;
use std::ops::Range;
use std::sync::Arc;

/// How the engine cuts the output into blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocking {
    /// The cheaper of one block and overlap-save blocks, by a cost model.
    Auto,
    /// Overlap-save blocks whenever more than one block fits (`oaconvolve`).
    Blocks,
    /// One block per axis (classic FFT convolution).
    Single,
}

/// Whether `n` is a product of 2, 3, 5 and 7 (the lengths rustfft has
/// dedicated butterflies for).
fn is_fast(mut n: usize) -> bool {
    if n == 0 {
        return false;
    }
    for p in [2, 3, 5, 7] {
        while n.is_multiple_of(p) {
            n /= p;
        }
    }
    n == 1
}

/// The smallest product of 2, 3, 5, 7 that is ≥ `target` (and even when
/// `even`: the real transform halves even lengths directly).
pub fn fast_len(target: usize, even: bool) -> Result<usize> {
    let mut n = target.max(if even { 2 } else { 1 });
    loop {
        if is_fast(n) && (!even || n.is_multiple_of(2)) {
            return Ok(n);
        }
        n = n
            .checked_add(1)
            .ok_or_else(|| Error::overflow("the transform length"))?;
    }
}

/// Every fast length in `[low, high]`, ascending.
fn fast_lengths(low: usize, high: usize, even: bool) -> Vec<usize> {
    let mut out = Vec::new();
    let mut p2 = 1usize;
    while p2 <= high {
        let mut p3 = p2;
        while p3 <= high {
            let mut p5 = p3;
            while p5 <= high {
                let mut p7 = p5;
                while p7 <= high {
                    if p7 >= low && (!even || p7.is_multiple_of(2)) {
                        out.push(p7);
                    }
                    p7 = p7.saturating_mul(7);
                }
                p5 = p5.saturating_mul(5);
            }
            p3 = p3.saturating_mul(3);
        }
        p2 = p2.saturating_mul(2);
    }
    out.sort_unstable();
    out
}

/// One block along one axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AxisBlock {
    /// Start of the block inside the output window.
    out_start: usize,
    out_len: usize,
    /// The span of the first input the block reads.
    data_start: usize,
    data_len: usize,
    /// Circular index of the block's first output.
    first: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct AxisPlan {
    len: usize,
    blocks: Vec<AxisBlock>,
}

/// Per-element work besides the butterflies (gather, product, scatter), in
/// units of one log2 level of the transform.
const OVERHEAD: f64 = 3.0;

fn cost(len: usize, count: usize) -> f64 {
    let l = len as f64;
    // Lengths past the per-core cache pay for memory traffic on each level.
    let cache = if len > 1 << 16 { 2.0 } else { 0.0 };
    count as f64 * l * (l.log2() + OVERHEAD + cache)
}

fn blocks_for(n: usize, k: usize, window: Range<usize>, block: usize) -> Vec<AxisBlock> {
    let mut out = Vec::new();
    let mut o = window.start;
    while o < window.end {
        let len = block.min(window.end - o);
        let data_start = o.saturating_sub(k - 1);
        let data_end = (o + len).min(n);
        out.push(AxisBlock {
            out_start: o - window.start,
            out_len: len,
            data_start,
            data_len: data_end - data_start,
            first: o - data_start,
        });
        o += len;
    }
    out
}

/// Chooses the transform length and the blocks along one axis. `n` is the
/// first input's length, `k` the second's, `window` the output window in
/// full-result coordinates.
fn plan_axis(
    n: usize,
    k: usize,
    window: Range<usize>,
    even: bool,
    blocking: Blocking,
) -> Result<AxisPlan> {
    let single = blocks_for(n, k, window.clone(), window.len());
    let mut need = k;
    for b in &single {
        need = need
            .max(b.first + b.out_len)
            .max(b.data_len + k - 1 - b.first);
    }
    let single_len = fast_len(need, even)?;
    let mut best = (cost(single_len, 1), single_len, single);
    if blocking == Blocking::Single {
        return Ok(AxisPlan {
            len: best.1,
            blocks: best.2,
        });
    }
    let mut best_blocked: Option<(f64, usize, usize)> = None;
    // Blocks shorter than twice the kernel waste most of each transform, and
    // below 64 points the per-block bookkeeping outweighs the butterflies
    // (measured on 2048² images: 64–256 points per axis do best for 3×3 to
    // 31×31 kernels).
    let low = (2 * k).max(64);
    for len in fast_lengths(low, single_len.saturating_sub(1).min(1 << 22), even) {
        let step = len - k + 1;
        let count = window.len().div_ceil(step);
        if count < 2 {
            continue;
        }
        let c = cost(len, count);
        if best_blocked.is_none_or(|(bc, _, _)| c < bc) {
            best_blocked = Some((c, len, step));
        }
    }
    if let Some((c, len, step)) = best_blocked
        && (blocking == Blocking::Blocks || c < best.0)
    {
        best = (c, len, blocks_for(n, k, window, step));
    }
    Ok(AxisPlan {
        len: best.1,
        blocks: best.2,
    })
}

/// Plans and shapes shared by every block of one call.
struct Context<T: FftElement> {
    /// Spectrum shape: the transform lengths, the last one as stored.
    spec_shape: Vec<usize>,
    spec_size: usize,
    columns: Vec<ComplexPlans<T::Real>>,
    rows: T::RowPlans,
    row_len: usize,
}

impl<T: FftElement> Context<T> {
    fn row_scratch(&self) -> RowScratch<T::Real> {
        T::row_scratch(&self.rows, self.row_len)
    }
}

/// Scratch of one block task, reused for every block the task runs.
struct BlockScratch<T: FftElement> {
    spec: Vec<Complex<T::Real>>,
    row: RowScratch<T::Real>,
    column: Vec<Complex<T::Real>>,
    fft: Vec<Complex<T::Real>>,
}

fn column_width<R>(len: usize) -> usize {
    // Enough columns that each gathered row segment fills cache lines, few
    // enough that the gathered block stays in L2.
    let bytes = std::mem::size_of::<Complex<R>>() * len;
    (128 * 1024 / bytes.max(1)).clamp(4, 16)
}

fn in_box(mut index: usize, dims: &[usize], ranges: &[Range<usize>]) -> bool {
    for (d, r) in dims.iter().zip(ranges).rev() {
        if !r.contains(&(index % d)) {
            return false;
        }
        index /= d;
    }
    true
}

/// One column block: gather to contiguous lines, transform, scatter back.
fn transform_columns<R: rustfft::FftNum + Default>(
    mut block: ArrayViewMut2<'_, Complex<R>>,
    fft: &Arc<dyn rustfft::Fft<R>>,
    tmp: &mut [Complex<R>],
    scratch: &mut [Complex<R>],
) {
    let (len, width) = block.dim();
    for (r, row) in block.rows().into_iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            tmp[c * len + r] = *v;
        }
    }
    fft.process_with_scratch(&mut tmp[..width * len], scratch);
    for (r, mut row) in block.rows_mut().into_iter().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = tmp[c * len + r];
        }
    }
}

/// A sequential caller's gather buffer and transform scratch.
type ColumnScratch<'a, R> = (&'a mut Vec<Complex<R>>, &'a mut Vec<Complex<R>>);

/// Complex transform of every line along `axis` of the C-order buffer
/// `buf` whose indices along the earlier axes lie in `outer`.
fn transform_axis<R: rustfft::FftNum + Default>(
    buf: &mut [Complex<R>],
    shape: &[usize],
    axis: usize,
    outer: &[Range<usize>],
    fft: &Arc<dyn rustfft::Fft<R>>,
    sequential: Option<ColumnScratch<'_, R>>,
) {
    let len = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let width = column_width::<R>(len).min(inner);
    let outer_dims = &shape[..axis];
    match sequential {
        Some((tmp, scratch)) => {
            tmp.resize(width * len, Complex::default());
            scratch.resize(fft.get_inplace_scratch_len(), Complex::default());
            for (o, chunk) in buf.chunks_mut(len * inner).enumerate() {
                if !in_box(o, outer_dims, outer) {
                    continue;
                }
                let Ok(mut view) = ArrayViewMut2::from_shape((len, inner), chunk) else {
                    continue;
                };
                for block in view.axis_chunks_iter_mut(Axis(1), width) {
                    transform_columns(block, fft, tmp, scratch);
                }
            }
        }
        None => {
            buf.par_chunks_mut(len * inner)
                .enumerate()
                .for_each(|(o, chunk)| {
                    if !in_box(o, outer_dims, outer) {
                        return;
                    }
                    let Ok(mut view) = ArrayViewMut2::from_shape((len, inner), chunk) else {
                        return;
                    };
                    view.axis_chunks_iter_mut(Axis(1), width)
                        .into_par_iter()
                        .for_each_init(
                            || {
                                (
                                    vec![Complex::default(); width * len],
                                    vec![Complex::default(); fft.get_inplace_scratch_len()],
                                )
                            },
                            |(tmp, scratch), block| transform_columns(block, fft, tmp, scratch),
                        );
                });
        }
    }
}

/// Spectrum of `data` (placed at the origin, zero-padded) into `spec`.
fn forward<T: FftElement>(
    ctx: &Context<T>,
    spec: &mut [Complex<T::Real>],
    data: ArrayViewD<'_, T>,
    mut scratch: Option<&mut BlockScratch<T>>,
) {
    let k = data.ndim();
    let last = Axis(k - 1);
    spec.fill(Complex::default());
    {
        let Ok(mut view) = ArrayViewMutD::from_shape(IxDyn(&ctx.spec_shape), &mut *spec) else {
            return;
        };
        view.slice_each_axis_inplace(|ax| {
            if ax.axis.index() + 1 < k {
                Slice::from(0..data.shape()[ax.axis.index()])
            } else {
                Slice::from(..)
            }
        });
        let zip = Zip::from(data.lanes(last)).and(view.lanes_mut(last));
        match scratch.as_deref_mut() {
            Some(s) => zip.for_each(|src, dst| T::forward_row(&ctx.rows, src, dst, &mut s.row)),
            None => zip.into_par_iter().for_each_init(
                || ctx.row_scratch(),
                |s, (src, dst)| T::forward_row(&ctx.rows, src, dst, s),
            ),
        }
    }
    for axis in (0..k - 1).rev() {
        let outer: Vec<Range<usize>> = (0..axis).map(|i| 0..data.shape()[i]).collect();
        let seq = scratch.as_mut().map(|s| (&mut s.column, &mut s.fft));
        transform_axis(
            spec,
            &ctx.spec_shape,
            axis,
            &outer,
            &ctx.columns[axis].forward,
            seq,
        );
    }
}

/// Inverse of `spec` into `out`, reading circular indices from `first`.
fn inverse<T: FftElement>(
    ctx: &Context<T>,
    spec: &mut [Complex<T::Real>],
    first: &[usize],
    mut out: ArrayViewMutD<'_, T>,
    mut scratch: Option<&mut BlockScratch<T>>,
) {
    let k = out.ndim();
    let last = Axis(k - 1);
    for axis in 0..k - 1 {
        let outer: Vec<Range<usize>> = (0..axis)
            .map(|i| first[i]..first[i] + out.shape()[i])
            .collect();
        let seq = scratch.as_mut().map(|s| (&mut s.column, &mut s.fft));
        transform_axis(
            spec,
            &ctx.spec_shape,
            axis,
            &outer,
            &ctx.columns[axis].inverse,
            seq,
        );
    }
    let Ok(mut view) = ArrayViewMutD::from_shape(IxDyn(&ctx.spec_shape), spec) else {
        return;
    };
    let out_shape = out.shape().to_vec();
    view.slice_each_axis_inplace(|ax| {
        let i = ax.axis.index();
        if i + 1 < k {
            Slice::from(first[i]..first[i] + out_shape[i])
        } else {
            Slice::from(..)
        }
    });
    let first_last = first[k - 1];
    let zip = Zip::from(view.lanes_mut(last)).and(out.lanes_mut(last));
    match scratch {
        Some(s) => {
            zip.for_each(|src, dst| T::inverse_row(&ctx.rows, src, first_last, dst, &mut s.row))
        }
        None => zip.into_par_iter().for_each_init(
            || ctx.row_scratch(),
            |s, (src, dst)| T::inverse_row(&ctx.rows, src, first_last, dst, s),
        ),
    }
}

/// Splits `view` into the disjoint output blocks of the plan.
fn split_blocks<'a, T>(
    view: ArrayViewMutD<'a, T>,
    plans: &[AxisPlan],
    axis: usize,
    current: &mut Vec<usize>,
    out: &mut Vec<(Vec<usize>, ArrayViewMutD<'a, T>)>,
) {
    if axis == plans.len() {
        out.push((current.clone(), view));
        return;
    }
    let mut rest = view;
    for (index, block) in plans[axis].blocks.iter().enumerate() {
        let (head, tail) = rest.split_at(Axis(axis), block.out_len);
        current.push(index);
        split_blocks(head, plans, axis + 1, current, out);
        current.pop();
        rest = tail;
    }
}

fn unravel(mut index: usize, dims: &[usize]) -> Vec<usize> {
    let mut out = vec![0; dims.len()];
    for (o, d) in out.iter_mut().zip(dims).rev() {
        *o = index % d;
        index /= d;
    }
    out
}

/// Indexes away `batch_axes` (ascending) of `view` at `indices`.
fn batch_entry<'a, T>(
    view: &ArrayViewD<'a, T>,
    batch_axes: &[usize],
    indices: &[usize],
) -> ArrayViewD<'a, T> {
    let mut v = view.clone();
    for (&axis, &index) in batch_axes.iter().zip(indices).rev() {
        v = v.index_axis_move(Axis(axis), index);
    }
    v
}

/// FFT convolution of `in1` and `in2` with a validated geometry (see
/// [`FftConvGeometry`]): the computation behind `fftconvolve` and
/// `oaconvolve`. Runs on the current Rayon pool.
pub fn convolve<T: FftElement>(
    in1: ArrayViewD<'_, T>,
    in2: ArrayViewD<'_, T>,
    geometry: &FftConvGeometry,
    blocking: Blocking,
) -> Result<ArrayD<T>> {
    let g = geometry;
    let ndim = g.shape.len();
    if in1.ndim() != ndim || in2.ndim() != ndim {
        return Err(Error::value(
            "in1 and in2 do not match the geometry they were validated with",
        ));
    }
    let (mut x, mut h) = if g.swapped { (in2, in1) } else { (in1, in2) };
    let axes = &g.axes;
    let batch_axes: Vec<usize> = (0..ndim).filter(|a| !axes.contains(a)).collect();
    if axes.is_empty() {
        return Ok(product(&x, &h, g));
    }
    // Convolution commutes; blocks are cut along the larger input.
    let volume =
        |v: &ArrayViewD<'_, T>| -> f64 { axes.iter().map(|&a| v.shape()[a] as f64).product() };
    if volume(&h) > volume(&x) {
        std::mem::swap(&mut x, &mut h);
    }
    // Buffers below (the block lists, per-task scratch) are allocated
    // infallibly, some inside parallel tasks, where a failure would abort the
    // process: refuse an output that cannot be allocated first, as a
    // MemoryError.
    ensure_allocatable::<T>(checked_product(&g.shape, "the output")?, "the output")?;
    let k = axes.len();
    let mut plans = Vec::with_capacity(k);
    for (j, &a) in axes.iter().enumerate() {
        let window = g.start[a]..g.start[a] + g.shape[a];
        plans.push(plan_axis(
            x.shape()[a],
            h.shape()[a],
            window,
            T::REAL && j + 1 == k,
            blocking,
        )?);
    }
    let lens: Vec<usize> = plans.iter().map(|p| p.len).collect();
    let mut spec_shape = lens.clone();
    spec_shape[k - 1] = T::spectrum_len(lens[k - 1]);
    let spec_size = checked_product(&spec_shape, "the FFT buffer")?;
    // Per-task copies of this buffer are allocated inside parallel tasks.
    ensure_allocatable::<Complex<T::Real>>(spec_size, "the FFT buffer")?;
    let (columns, rows) = {
        let mut planners = <T::Real as CachedPlanners>::planners()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let columns: Vec<_> = lens[..k - 1]
            .iter()
            .map(|&l| planners.complex_pair(l))
            .collect();
        (columns, T::plan_rows(&mut planners, lens[k - 1]))
    };
    let ctx = Context::<T> {
        rows,
        row_len: lens[k - 1],
        spec_shape,
        spec_size,
        columns,
    };

    // The second input's spectra (one per broadcast batch entry), scaled by
    // the inverse transform's 1/N so the blocks need no extra pass.
    let h_batch: Vec<usize> = batch_axes.iter().map(|&b| h.shape()[b]).collect();
    let kernel_count = checked_product(&h_batch, "the batch")?;
    let scale = 1.0 / lens.iter().map(|&l| l as f64).product::<f64>();
    let scale = <T::Real as FromPrimitive>::from_f64(scale)
        .ok_or_else(|| Error::value("the transform scale is not representable"))?;
    let block_count: usize = plans.iter().map(|p| p.blocks.len()).product();
    let out_batch: Vec<usize> = batch_axes.iter().map(|&b| g.shape[b]).collect();
    let batch_count = checked_product(&out_batch, "the output")?;
    // Small problems stay on one thread: waking workers would cost more
    // than the transforms. `split` also says no inside an inline job of
    // `threads::run_sized`, whose Rayon calls would reach the global pool.
    let small = !crate::threads::split(
        spec_size
            .saturating_mul(block_count)
            .saturating_mul(batch_count.max(kernel_count)),
    );
    let new_scratch = || BlockScratch::<T> {
        spec: Vec::new(),
        row: ctx.row_scratch(),
        column: Vec::new(),
        fft: Vec::new(),
    };
    let kernel_spectrum = |q: usize, scratch: Option<&mut BlockScratch<T>>| {
        let mut spec = try_filled(spec_size, Complex::default())?;
        let entry = batch_entry(&h, &batch_axes, &unravel(q, &h_batch));
        forward(&ctx, &mut spec, entry, scratch);
        spec.iter_mut().for_each(|v| *v = *v * scale);
        Ok(spec)
    };
    let kernels = if small {
        let mut scratch = new_scratch();
        (0..kernel_count)
            .map(|q| kernel_spectrum(q, Some(&mut scratch)))
            .collect::<Result<Vec<_>>>()?
    } else {
        (0..kernel_count)
            .into_par_iter()
            .map(|q| kernel_spectrum(q, None))
            .collect::<Result<Vec<_>>>()?
    };

    let entry_shape: Vec<usize> = axes.iter().map(|&a| g.shape[a]).collect();
    let entry_size = checked_product(&entry_shape, "the output")?;
    let total = checked_product(&[entry_size, batch_count], "the output")?;
    let mut out = try_filled(total, T::zero())?;
    // Parallel inside a block only when there are too few blocks to keep
    // every thread busy.
    let inner_parallel =
        !small && batch_count.saturating_mul(block_count) < 2 * rayon::current_num_threads();
    let single_spec = if inner_parallel {
        // Allocated here so a failure is a MemoryError, not an abort.
        Some(try_filled(spec_size, Complex::<T::Real>::default())?)
    } else {
        None
    };
    let single_spec = std::sync::Mutex::new(single_spec);

    let run_entry = |p: usize, chunk: &mut [T]| {
        let ob = unravel(p, &out_batch);
        let pick = |v: &ArrayViewD<'_, T>| -> Vec<usize> {
            batch_axes
                .iter()
                .zip(&ob)
                .map(|(&b, &i)| if v.shape()[b] == 1 { 0 } else { g.start[b] + i })
                .collect()
        };
        let x_entry = batch_entry(&x, &batch_axes, &pick(&x));
        let h_index = pick(&h)
            .iter()
            .zip(&h_batch)
            .fold(0, |acc, (&i, &d)| acc * d + i);
        let kernel = &kernels[h_index];
        let Ok(view) = ArrayViewMutD::from_shape(IxDyn(&entry_shape), chunk) else {
            return;
        };
        let mut blocks = Vec::with_capacity(block_count);
        split_blocks(view, &plans, 0, &mut Vec::new(), &mut blocks);
        let run_block = |s: Option<&mut BlockScratch<T>>,
                         spec: &mut [Complex<T::Real>],
                         index: &[usize],
                         out_block: ArrayViewMutD<'_, T>| {
            let data = x_entry.slice_each_axis(|ax| {
                let b = &plans[ax.axis.index()].blocks[index[ax.axis.index()]];
                Slice::from(b.data_start..b.data_start + b.data_len)
            });
            let mut s = s;
            forward(&ctx, spec, data, s.as_deref_mut());
            spec.iter_mut()
                .zip(kernel.iter())
                .for_each(|(a, b)| *a = *a * *b);
            let first: Vec<usize> = index
                .iter()
                .enumerate()
                .map(|(j, &i)| plans[j].blocks[i].first)
                .collect();
            inverse(&ctx, spec, &first, out_block, s);
        };
        if inner_parallel {
            let mut guard = single_spec
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut local;
            let spec: &mut Vec<Complex<T::Real>> = match guard.as_mut() {
                Some(s) => s,
                None => {
                    local = vec![Complex::default(); ctx.spec_size];
                    &mut local
                }
            };
            for (index, out_block) in blocks {
                run_block(None, spec, &index, out_block);
            }
        } else if small {
            let mut scratch = new_scratch();
            let mut spec = vec![Complex::default(); ctx.spec_size];
            for (index, out_block) in blocks {
                run_block(Some(&mut scratch), &mut spec, &index, out_block);
            }
        } else {
            blocks.into_par_iter().for_each_init(
                || BlockScratch::<T> {
                    spec: vec![Complex::default(); ctx.spec_size],
                    ..new_scratch()
                },
                |s, (index, out_block)| {
                    let mut spec = std::mem::take(&mut s.spec);
                    run_block(Some(s), &mut spec, &index, out_block);
                    s.spec = spec;
                },
            );
        }
    };
    if inner_parallel || small {
        out.chunks_mut(entry_size)
            .enumerate()
            .for_each(|(p, chunk)| run_entry(p, chunk));
    } else {
        out.par_chunks_mut(entry_size)
            .enumerate()
            .for_each(|(p, chunk)| run_entry(p, chunk));
    }
    arrange(out, &batch_axes, axes, &out_batch, &entry_shape)
}

/// The output buffer is laid out batch axes first; put the axes back in
/// the inputs' order (a copy only when a batch axis follows a transformed one).
fn arrange<T: Clone>(
    out: Vec<T>,
    batch_axes: &[usize],
    axes: &[usize],
    out_batch: &[usize],
    entry_shape: &[usize],
) -> Result<ArrayD<T>> {
    let order: Vec<usize> = batch_axes.iter().chain(axes).copied().collect();
    let shape: Vec<usize> = out_batch.iter().chain(entry_shape).copied().collect();
    let array = ArrayD::from_shape_vec(IxDyn(&shape), out)
        .map_err(|e| Error::value(format!("internal shape error: {e}")))?;
    let mut inverse = vec![0; order.len()];
    for (position, &axis) in order.iter().enumerate() {
        inverse[axis] = position;
    }
    let array = array.permuted_axes(IxDyn(&inverse));
    Ok(if array.is_standard_layout() {
        array
    } else {
        array.as_standard_layout().into_owned()
    })
}

/// No transformed axis: the convolution is the broadcast product.
fn product<T: FftElement>(
    x: &ArrayViewD<'_, T>,
    h: &ArrayViewD<'_, T>,
    g: &FftConvGeometry,
) -> ArrayD<T> {
    ArrayD::from_shape_fn(IxDyn(&g.shape), |index| {
        let pick = |v: &ArrayViewD<'_, T>| -> Vec<usize> {
            (0..g.shape.len())
                .map(|a| {
                    if v.shape()[a] == 1 {
                        0
                    } else {
                        g.start[a] + index[a]
                    }
                })
                .collect()
        };
        x[IxDyn(&pick(x))].mul(h[IxDyn(&pick(h))])
    })
}
