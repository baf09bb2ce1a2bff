//! The axes a padding kernel actually loops over.
//!
//! Unpadded axes that are laid out one inside the other in memory behave as
//! one longer axis, and unpadded axes of length 1 do not move anything; both
//! are folded away so that the innermost loop runs over rows as long as
//! possible (an (N, C, H, W) padding of H and W becomes N·C planes instead of
//! N × C nested loops, a padding of only the first axis of a C-contiguous
//! array copies whole blocks).

/// One loop axis: `len` elements of the unpadded array, `before`/`after`
/// added, `stride` the element stride of the strided operand along it (the
/// input for `pad`, the gradient for `pad_backward`), and `axis` the original
/// axis it stands for (the innermost one when several were merged; only
/// padded axes, which are never merged, use it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Axis {
    pub len: usize,
    pub before: usize,
    pub after: usize,
    pub stride: isize,
    pub axis: usize,
}

impl Axis {
    pub fn out_len(&self) -> usize {
        self.before + self.len + self.after
    }
    fn padded(&self) -> bool {
        self.before > 0 || self.after > 0
    }
}

/// The loop axes for `lens`/`pads` with the strided operand's `strides`
/// (whose extent along an unpadded axis is `lens[k]`). Never empty.
pub(crate) fn loop_axes(lens: &[usize], pads: &[[usize; 2]], strides: &[isize]) -> Vec<Axis> {
    let mut axes: Vec<Axis> = Vec::with_capacity(lens.len().max(1));
    for (axis, ((&len, &[before, after]), &stride)) in
        lens.iter().zip(pads).zip(strides).enumerate()
    {
        let this = Axis {
            len,
            before,
            after,
            stride,
            axis,
        };
        if !this.padded() && len == 1 {
            continue;
        }
        if let Some(last) = axes.last_mut() {
            // The outer axis steps over exactly one whole inner axis.
            let contiguous = isize::try_from(len)
                .ok()
                .and_then(|l| l.checked_mul(stride))
                .is_some_and(|s| s == last.stride);
            if !last.padded() && !this.padded() && contiguous {
                last.len *= len;
                last.stride = stride;
                last.axis = axis;
                continue;
            }
        }
        axes.push(this);
    }
    if axes.is_empty() {
        axes.push(Axis {
            len: 1,
            before: 0,
            after: 0,
            stride: 1,
            axis: lens.len().saturating_sub(1),
        });
    }
    axes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_unpadded_contiguous_axes() {
        let a = loop_axes(
            &[2, 3, 4, 5],
            &[[0, 0], [0, 0], [1, 1], [2, 2]],
            &[60, 20, 5, 1],
        );
        assert_eq!(a.len(), 3);
        assert_eq!((a[0].len, a[0].stride, a[0].axis), (6, 20, 1));
        let b = loop_axes(&[2, 3, 4], &[[1, 0], [0, 0], [0, 0]], &[12, 4, 1]);
        assert_eq!(b.len(), 2);
        assert_eq!((b[1].len, b[1].stride), (12, 1));
        // Not mergeable: a transposed layout.
        let c = loop_axes(&[3, 4], &[[0, 0], [0, 0]], &[1, 3]);
        assert_eq!(c.len(), 2);
        // Size-1 axes vanish, 0-d becomes one element.
        let d = loop_axes(&[1, 5, 1], &[[0, 0], [0, 0], [0, 0]], &[0, 7, 0]);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].len, d[0].stride), (5, 7));
        assert_eq!(loop_axes(&[], &[], &[]).len(), 1);
    }
}
