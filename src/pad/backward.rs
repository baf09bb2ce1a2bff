//! The adjoint of padding: each input element receives the sum of the
//! gradient at every padded position that repeats it.
//!
//! Formulated per output (unpadded) row, so each thread owns disjoint rows
//! and nothing races: the gradient rows that map onto an output row (one per
//! combination of the outer axes' source lists, the interior row first) are
//! summed into a row of the padded length, then the row's own interior is
//! copied and its border positions are added onto the elements they repeat,
//! in ascending position order. The order depends only on the shape, so the
//! bits are the same for every thread count.

use super::axes::{Axis, loop_axes};
use super::{Boundary, PadPlan, source_index};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::threads::split;
use ndarray::ArrayViewD;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// For each index of an outer axis, the gradient offsets (index × stride)
/// of the padded positions that repeat it: the interior one first, then the
/// border ones in ascending order. Stored flat with `starts`.
struct SourceLists {
    starts: Vec<usize>,
    offsets: Vec<isize>,
}

impl SourceLists {
    fn new(axis: &Axis, boundary: Boundary) -> Self {
        // Border positions in ascending order with the index they repeat;
        // built without a list per index, as outer axes can be long.
        let borders: Vec<(usize, isize)> = (0..axis.before)
            .chain(axis.before + axis.len..axis.out_len())
            .filter_map(|p| {
                source_index(p as isize - axis.before as isize, axis.len, boundary)
                    .map(|i| (i, p as isize * axis.stride))
            })
            .collect();
        let mut starts = vec![0usize; axis.len + 1];
        for &(i, _) in &borders {
            starts[i + 1] += 1;
        }
        for i in 0..axis.len {
            starts[i + 1] += starts[i] + 1;
        }
        let mut offsets = vec![0isize; starts[axis.len]];
        let mut next: Vec<usize> = starts[..axis.len].iter().map(|&s| s + 1).collect();
        for (i, &start) in starts[..axis.len].iter().enumerate() {
            offsets[start] = (axis.before + i) as isize * axis.stride;
        }
        for (i, offset) in borders {
            offsets[next[i]] = offset;
            next[i] += 1;
        }
        SourceLists { starts, offsets }
    }

    fn list(&self, i: usize) -> &[isize] {
        &self.offsets[self.starts[i]..self.starts[i + 1]]
    }
}

struct Tables {
    outer: Vec<SourceLists>,
    outer_lens: Vec<usize>,
    inner: Axis,
    /// (target index, padded position) of each border position, ascending.
    scatter: Vec<(usize, usize)>,
}

/// Writes the gradient with respect to the unpadded input into `out` (the
/// C-contiguous array of `plan.in_shape()`, every element of which is
/// written), given `grad` of `plan.out_shape()`.
pub fn pad_backward_into<T: Element>(
    grad: &ArrayViewD<'_, T>,
    plan: &PadPlan,
    out: &mut [MaybeUninit<T>],
) -> Result<()> {
    if grad.shape() != plan.out_shape() || out.len() != plan.in_len() {
        return Err(Error::value(format!(
            "pad_backward_into was given a gradient of shape {:?} and an output of {} elements for a plan from {:?} to {:?}",
            grad.shape(),
            out.len(),
            plan.in_shape(),
            plan.out_shape()
        )));
    }
    if out.is_empty() {
        return Ok(());
    }
    let boundary = plan.boundary();
    let mut axes = loop_axes(plan.in_shape(), plan.pads(), grad.strides());
    let Some(inner) = axes.pop() else {
        return Ok(());
    };
    let scatter = (0..inner.before)
        .chain(inner.before + inner.len..inner.out_len())
        .filter_map(|p| {
            source_index(p as isize - inner.before as isize, inner.len, boundary).map(|i| (i, p))
        })
        .collect();
    let tables = Tables {
        outer: axes.iter().map(|a| SourceLists::new(a, boundary)).collect(),
        outer_lens: axes.iter().map(|a| a.len).collect(),
        inner,
        scatter,
    };
    let row_len = inner.len;
    let rows = out.len() / row_len;
    if split(plan.out_len()) {
        let per_task = (out.len() / (8 * rayon::current_num_threads())).max(1 << 14);
        let chunk_rows = per_task.div_ceil(row_len).clamp(1, rows);
        out.par_chunks_mut(chunk_rows * row_len)
            .enumerate()
            .for_each(|(chunk, dst)| fold_rows(grad, &tables, chunk * chunk_rows, dst));
    } else {
        // No Rayon: this may run inline on the caller's thread.
        fold_rows(grad, &tables, 0, out);
    }
    Ok(())
}

fn fold_rows<T: Element>(
    grad: &ArrayViewD<'_, T>,
    t: &Tables,
    first_row: usize,
    dst: &mut [MaybeUninit<T>],
) {
    let base = grad.as_ptr();
    let inner = t.inner;
    let stride = inner.stride;
    let mut index = vec![0usize; t.outer.len()];
    let mut rest = first_row;
    for k in (0..index.len()).rev() {
        index[k] = rest % t.outer_lens[k];
        rest /= t.outer_lens[k];
    }
    let out_len = inner.out_len();
    let mut acc: Vec<T> = Vec::with_capacity(out_len);
    let mut pick = vec![0usize; t.outer.len()];
    let mut lists: Vec<&[isize]> = Vec::with_capacity(t.outer.len());
    // One padded gradient row starting at element offset `offset`.
    // SAFETY (for callers): `offset` is a sum of in-bounds index × stride
    // terms of `grad` over its outer axes, so the row's `out_len` elements
    // at multiples of `stride` lie in the view.
    let read_row = |offset: isize, into: &mut Vec<T>, add: bool| {
        let src = base.wrapping_offset(offset);
        if stride == 1 {
            // SAFETY: a contiguous row of the view (see above).
            let row = unsafe { std::slice::from_raw_parts(src, out_len) };
            if add {
                into.iter_mut().zip(row).for_each(|(a, &g)| *a = a.add(g));
            } else {
                into.extend_from_slice(row);
            }
        } else {
            // SAFETY: the row's elements (see above).
            let element = |p: usize| unsafe { *src.offset(p as isize * stride) };
            if add {
                into.iter_mut()
                    .enumerate()
                    .for_each(|(p, a)| *a = a.add(element(p)));
            } else {
                into.extend((0..out_len).map(element));
            }
        }
    };
    for row in dst.chunks_exact_mut(inner.len) {
        lists.clear();
        lists.extend(t.outer.iter().zip(&index).map(|(l, &i)| l.list(i)));
        let first: isize = lists.iter().map(|l| l[0]).sum();
        let count: usize = lists.iter().map(|l| l.len()).product();
        let padded: &[T] = if count == 1 && stride == 1 {
            // SAFETY: a contiguous row of the view, as in `read_row`.
            unsafe { std::slice::from_raw_parts(base.wrapping_offset(first), out_len) }
        } else {
            acc.clear();
            read_row(first, &mut acc, false);
            pick.iter_mut().for_each(|s| *s = 0);
            for _ in 1..count {
                for k in (0..pick.len()).rev() {
                    pick[k] += 1;
                    if pick[k] < lists[k].len() {
                        break;
                    }
                    pick[k] = 0;
                }
                let offset: isize = lists.iter().zip(&pick).map(|(l, &s)| l[s]).sum();
                read_row(offset, &mut acc, true);
            }
            &acc
        };
        for (d, &v) in row.iter_mut().zip(&padded[inner.before..]) {
            d.write(v);
        }
        // SAFETY: every element of `row` was written just above.
        let out_row = unsafe { &mut *(row as *mut [MaybeUninit<T>] as *mut [T]) };
        for &(i, p) in &t.scatter {
            out_row[i] = out_row[i].add(padded[p]);
        }
        for k in (0..index.len()).rev() {
            index[k] += 1;
            if index[k] < t.outer_lens[k] {
                break;
            }
            index[k] = 0;
        }
    }
}
