//! The padding kernel: one pass over the output, row by row.
//!
//! The output is C-contiguous, so its innermost axis is a run of rows. Each
//! row either repeats one input row (chosen per outer axis by
//! [`source_index`]) or, in constant mode, lies in the padding of an outer
//! axis. A data row is its left border, the input row copied in one block
//! (a `memcpy` when the input row is contiguous) and its right border; the
//! borders read the input row through a table built once per call, so no
//! index arithmetic is left in the loop. Rows are split into disjoint chunks
//! of the output for the threads; a copy gives the same bits on any split.

use super::axes::{Axis, loop_axes};
use super::{Boundary, PadPlan, source_index};
use crate::error::{Error, Result};
use crate::threads::split;
use ndarray::ArrayViewD;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Where the rows at one index of an outer axis come from.
#[derive(Debug, Clone, Copy)]
enum Rows {
    /// The input rows at this element offset.
    Data(isize),
    /// The padding before (0) or after (1) the data, in constant mode.
    Pad(usize),
}

/// Where the rows of an outer axis come from. Interior positions are plain
/// arithmetic; only the border positions are tabulated, so a long outer axis
/// costs no table as large as the data.
struct OuterAxis {
    before: usize,
    len: usize,
    out_len: usize,
    stride: isize,
    /// The `before` positions, then the `after` positions.
    borders: Vec<Rows>,
}

impl OuterAxis {
    fn new(axis: &Axis, boundary: Boundary) -> Self {
        let borders = (0..axis.before)
            .chain(axis.before + axis.len..axis.out_len())
            .map(|p| {
                let source = if axis.len == 0 {
                    None
                } else {
                    // Plan sizes fit in isize.
                    source_index(p as isize - axis.before as isize, axis.len, boundary)
                };
                match source {
                    Some(i) => Rows::Data(i as isize * axis.stride),
                    None => Rows::Pad(usize::from(p >= axis.before)),
                }
            })
            .collect();
        OuterAxis {
            before: axis.before,
            len: axis.len,
            out_len: axis.out_len(),
            stride: axis.stride,
            borders,
        }
    }

    #[inline]
    fn rows(&self, p: usize) -> Rows {
        match p.checked_sub(self.before) {
            Some(i) if i < self.len => Rows::Data(i as isize * self.stride),
            Some(i) => self.borders[self.before + i - self.len],
            None => self.borders[p],
        }
    }
}

/// Offsets (relative to the row start) that the border positions of the
/// innermost axis read; `None` in constant mode, whose borders are constant.
fn border_table(
    axis: &Axis,
    boundary: Boundary,
    range: std::ops::Range<usize>,
) -> Option<Vec<isize>> {
    if axis.len == 0 || boundary == Boundary::Constant {
        return None;
    }
    range
        .map(|p| {
            source_index(p as isize - axis.before as isize, axis.len, boundary)
                .map(|i| i as isize * axis.stride)
        })
        .collect()
}

struct Tables<T> {
    outer: Vec<OuterAxis>,
    inner: Axis,
    left: Option<Vec<isize>>,
    right: Option<Vec<isize>>,
    inner_constants: [T; 2],
}

/// Writes the padded `input` into `out` (the C-contiguous output of
/// `plan.out_shape()`, every element of which is written).
///
/// `constants[k]` are the values before and after axis `k` in constant mode
/// (numpy.pad's rule: a position in the padding of several axes takes the
/// value of the last such axis); other modes ignore them.
pub fn pad_into<T: Copy + Send + Sync>(
    input: &ArrayViewD<'_, T>,
    plan: &PadPlan,
    constants: &[[T; 2]],
    out: &mut [MaybeUninit<T>],
) -> Result<()> {
    if input.shape() != plan.in_shape() || out.len() != plan.out_len() {
        return Err(Error::value(format!(
            "pad_into was given an input of shape {:?} and an output of {} elements for a plan from {:?} to {:?}",
            input.shape(),
            out.len(),
            plan.in_shape(),
            plan.out_shape()
        )));
    }
    let boundary = plan.boundary();
    let constant_mode = boundary == Boundary::Constant;
    if constant_mode && constants.len() != plan.in_shape().len() {
        return Err(Error::value(format!(
            "constant_values must have one pair per dimension ({}), got {}",
            plan.in_shape().len(),
            constants.len()
        )));
    }
    if out.is_empty() {
        return Ok(());
    }
    let mut axes = loop_axes(plan.in_shape(), plan.pads(), input.strides());
    let Some(inner) = axes.pop() else {
        return Ok(());
    };
    let constant = |axis: usize, side: usize| -> Option<T> {
        constant_mode
            .then(|| constants.get(axis).map(|pair| pair[side]))
            .flatten()
    };
    // Non-constant modes never produce a `None`, and constant mode has
    // `constants` for every axis, so the fallback element is never written;
    // it only spares an Option in the row loop.
    let Some(any_value) = constants
        .first()
        .map(|p| p[0])
        .or_else(|| input.iter().next().copied())
    else {
        return Err(Error::value("pad_into has no value to write"));
    };
    let tables = Tables {
        outer: axes.iter().map(|a| OuterAxis::new(a, boundary)).collect(),
        inner,
        left: border_table(&inner, boundary, 0..inner.before),
        right: border_table(&inner, boundary, inner.before + inner.len..inner.out_len()),
        inner_constants: [
            constant(inner.axis, 0).unwrap_or(any_value),
            constant(inner.axis, 1).unwrap_or(any_value),
        ],
    };
    let row_len = inner.out_len();
    let rows = out.len() / row_len;
    let parallel = split(out.len());
    let outer_constants: Vec<[T; 2]> = axes
        .iter()
        .map(|a| {
            [
                constant(a.axis, 0).unwrap_or(any_value),
                constant(a.axis, 1).unwrap_or(any_value),
            ]
        })
        .collect();
    if parallel {
        let per_task = (out.len() / (8 * rayon::current_num_threads())).max(1 << 14);
        let chunk_rows = per_task.div_ceil(row_len).clamp(1, rows);
        out.par_chunks_mut(chunk_rows * row_len)
            .enumerate()
            .for_each(|(chunk, dst)| {
                fill_rows(input, &tables, &outer_constants, chunk * chunk_rows, dst);
            });
    } else {
        // Not through Rayon at all: this may run inline on the caller's
        // thread (threads::run_sized), where Rayon means its global pool.
        fill_rows(input, &tables, &outer_constants, 0, out);
    }
    Ok(())
}

/// Fills whole output rows, the first of which is row `first_row`.
fn fill_rows<T: Copy>(
    input: &ArrayViewD<'_, T>,
    t: &Tables<T>,
    outer_constants: &[[T; 2]],
    first_row: usize,
    dst: &mut [MaybeUninit<T>],
) {
    let base = input.as_ptr();
    let row_len = t.inner.out_len();
    // The output index along each outer axis, as an odometer.
    let mut index = vec![0usize; t.outer.len()];
    let mut rest = first_row;
    for (k, axis) in t.outer.iter().enumerate().rev() {
        index[k] = rest % axis.out_len;
        rest /= axis.out_len;
    }
    for row in dst.chunks_exact_mut(row_len) {
        let mut offset = 0isize;
        let mut pad: Option<T> = None;
        for (k, axis) in t.outer.iter().enumerate() {
            match axis.rows(index[k]) {
                Rows::Data(o) => offset += o,
                // Later (inner) axes win, as in numpy.pad.
                Rows::Pad(side) => pad = Some(outer_constants[k][side]),
            }
        }
        match pad {
            Some(value) => fill_constant_row(t, value, row),
            // SAFETY: `offset` is a sum of in-bounds index × stride terms of
            // `input` over distinct axes, so it addresses an element of the
            // view's row (or, for an empty inner axis, is never dereferenced).
            None => unsafe { fill_data_row(t, base.offset(offset), row) },
        }
        for k in (0..index.len()).rev() {
            index[k] += 1;
            if index[k] < t.outer[k].out_len {
                break;
            }
            index[k] = 0;
        }
    }
}

fn fill_constant_row<T: Copy>(t: &Tables<T>, value: T, row: &mut [MaybeUninit<T>]) {
    let (left, rest) = row.split_at_mut(t.inner.before);
    let (middle, right) = rest.split_at_mut(t.inner.len);
    left.fill(MaybeUninit::new(t.inner_constants[0]));
    middle.fill(MaybeUninit::new(value));
    right.fill(MaybeUninit::new(t.inner_constants[1]));
}

/// # Safety
/// `src` points at the first element of an input row of `t.inner.len`
/// elements with stride `t.inner.stride`, and every offset in `t.left` and
/// `t.right` lies in that row.
unsafe fn fill_data_row<T: Copy>(t: &Tables<T>, src: *const T, row: &mut [MaybeUninit<T>]) {
    let (left, rest) = row.split_at_mut(t.inner.before);
    let (middle, right) = rest.split_at_mut(t.inner.len);
    match &t.left {
        Some(offsets) => {
            for (d, &o) in left.iter_mut().zip(offsets) {
                // SAFETY: border offsets lie in the row (the caller's contract).
                d.write(unsafe { *src.offset(o) });
            }
        }
        None => left.fill(MaybeUninit::new(t.inner_constants[0])),
    }
    if t.inner.stride == 1 && middle.len() <= 8 {
        for (i, d) in middle.iter_mut().enumerate() {
            // SAFETY: the first `middle.len()` elements of the contiguous row.
            d.write(unsafe { *src.add(i) });
        }
    } else if t.inner.stride == 1 {
        // SAFETY: the row holds `middle.len()` contiguous elements, and the
        // freshly allocated output cannot overlap the input.
        unsafe {
            std::ptr::copy_nonoverlapping(src, middle.as_mut_ptr().cast::<T>(), middle.len());
        }
    } else {
        let mut p = src;
        for d in middle.iter_mut() {
            // SAFETY: `p` walks the row's elements; it is advanced past the
            // last element only with `wrapping_offset` and never read there.
            d.write(unsafe { *p });
            p = p.wrapping_offset(t.inner.stride);
        }
    }
    match &t.right {
        Some(offsets) => {
            for (d, &o) in right.iter_mut().zip(offsets) {
                // SAFETY: as for the left border.
                d.write(unsafe { *src.offset(o) });
            }
        }
        None => right.fill(MaybeUninit::new(t.inner_constants[1])),
    }
}
