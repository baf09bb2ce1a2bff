//! The validated geometry of one padding: the one place that owns the padded
//! shape formula `out[k] = before[k] + len[k] + after[k]`.

use super::Boundary;
use crate::buffer::checked_product;
use crate::error::{Error, Result};

/// A padding whose sizes have been checked: every length, offset and total
/// below fits in `isize`, so kernels may compute offsets without overflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PadPlan {
    in_shape: Vec<usize>,
    pads: Vec<[usize; 2]>,
    out_shape: Vec<usize>,
    boundary: Boundary,
    in_len: usize,
    out_len: usize,
}

fn to_usize(v: u64) -> Result<usize> {
    usize::try_from(v)
        .ok()
        .filter(|&v| isize::try_from(v).is_ok())
        .ok_or_else(|| Error::overflow(&format!("pad_width entry {v}")))
}

impl PadPlan {
    /// The plan for padding an array of shape `in_shape` (named `array_name`
    /// in messages) by `pad_width[k] = [before, after]` along each axis.
    pub fn forward(
        in_shape: &[usize],
        pad_width: &[[u64; 2]],
        boundary: Boundary,
        array_name: &str,
    ) -> Result<Self> {
        Self::check_pairs(in_shape.len(), pad_width, array_name)?;
        let pads = pad_width
            .iter()
            .map(|&[b, a]| Ok([to_usize(b)?, to_usize(a)?]))
            .collect::<Result<Vec<_>>>()?;
        let out_shape = in_shape
            .iter()
            .zip(&pads)
            .map(|(&n, &[b, a])| {
                n.checked_add(b)
                    .and_then(|s| s.checked_add(a))
                    .filter(|&s| isize::try_from(s).is_ok())
                    .ok_or_else(|| Error::overflow("the padded shape"))
            })
            .collect::<Result<Vec<_>>>()?;
        Self::finish(in_shape.to_vec(), pads, out_shape, boundary, array_name)
    }

    /// The plan whose padded shape is `grad_shape` (the gradient that
    /// `pad_backward` receives, named `grad_name` in messages): the unpadded
    /// shape is `grad_shape[k] - before[k] - after[k]`.
    pub fn backward(
        grad_shape: &[usize],
        pad_width: &[[u64; 2]],
        boundary: Boundary,
        grad_name: &str,
    ) -> Result<Self> {
        Self::check_pairs(grad_shape.len(), pad_width, grad_name)?;
        let pads = pad_width
            .iter()
            .map(|&[b, a]| Ok([to_usize(b)?, to_usize(a)?]))
            .collect::<Result<Vec<_>>>()?;
        let in_shape = grad_shape
            .iter()
            .zip(&pads)
            .enumerate()
            .map(|(axis, (&g, &[b, a]))| {
                b.checked_add(a)
                    .and_then(|total| g.checked_sub(total))
                    .ok_or_else(|| {
                        Error::value(format!(
                            "{grad_name} has length {g} along axis {axis}, less than the {b} + {a} elements that pad_width adds there; {grad_name} must have the padded shape"
                        ))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Self::finish(in_shape, pads, grad_shape.to_vec(), boundary, grad_name)
    }

    fn check_pairs(ndim: usize, pad_width: &[[u64; 2]], name: &str) -> Result<()> {
        if pad_width.len() == ndim {
            Ok(())
        } else {
            Err(Error::value(format!(
                "pad_width must have one (before, after) pair per dimension of {name} ({ndim}), got {} pairs",
                pad_width.len()
            )))
        }
    }

    fn finish(
        in_shape: Vec<usize>,
        pads: Vec<[usize; 2]>,
        out_shape: Vec<usize>,
        boundary: Boundary,
        name: &str,
    ) -> Result<Self> {
        if boundary != Boundary::Constant {
            let empty_padded = in_shape
                .iter()
                .zip(&pads)
                .position(|(&n, &[b, a])| n == 0 && (b > 0 || a > 0));
            if let Some(axis) = empty_padded {
                return Err(Error::value(format!(
                    "cannot extend the empty axis {axis} of {name} (unpadded shape {in_shape:?}) with mode '{}': only mode 'constant' can pad an axis of length 0",
                    boundary.name()
                )));
            }
        }
        let in_len = checked_product(&in_shape, "the unpadded array")?;
        let out_len = checked_product(&out_shape, "the padded array")?;
        if isize::try_from(out_len).is_err() {
            return Err(Error::overflow("the padded array"));
        }
        Ok(PadPlan {
            in_shape,
            pads,
            out_shape,
            boundary,
            in_len,
            out_len,
        })
    }

    /// The unpadded shape.
    pub fn in_shape(&self) -> &[usize] {
        &self.in_shape
    }
    /// `[before, after]` per axis.
    pub fn pads(&self) -> &[[usize; 2]] {
        &self.pads
    }
    /// The padded shape.
    pub fn out_shape(&self) -> &[usize] {
        &self.out_shape
    }
    /// The boundary rule.
    pub fn boundary(&self) -> Boundary {
        self.boundary
    }
    /// Elements of the unpadded array.
    pub fn in_len(&self) -> usize {
        self.in_len
    }
    /// Elements of the padded array.
    pub fn out_len(&self) -> usize {
        self.out_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let p = PadPlan::forward(&[2, 3], &[[1, 2], [0, 4]], Boundary::Reflect, "array").unwrap();
        assert_eq!(p.out_shape(), &[5, 7]);
        assert_eq!(p.out_len(), 35);
        let b = PadPlan::backward(&[5, 7], &[[1, 2], [0, 4]], Boundary::Reflect, "grad").unwrap();
        assert_eq!(b.in_shape(), &[2, 3]);
        assert_eq!(b.in_len(), 6);
    }

    #[test]
    fn errors() {
        let e = PadPlan::forward(&[0, 3], &[[1, 0], [0, 0]], Boundary::Edge, "array").unwrap_err();
        assert!(e.to_string().contains("empty axis 0"), "{e}");
        assert!(PadPlan::forward(&[0, 3], &[[1, 0], [0, 0]], Boundary::Constant, "array").is_ok());
        assert!(PadPlan::forward(&[0, 3], &[[0, 0], [2, 0]], Boundary::Wrap, "array").is_ok());
        let e = PadPlan::forward(&[3], &[[1, 0], [0, 0]], Boundary::Edge, "array").unwrap_err();
        assert!(e.to_string().contains("pad_width"), "{e}");
        let e = PadPlan::forward(&[3], &[[u64::MAX, 0]], Boundary::Edge, "array").unwrap_err();
        assert!(e.to_string().contains("too large"), "{e}");
        let e = PadPlan::forward(
            &[3, 3],
            &[[1 << 40, 0], [1 << 40, 0]],
            Boundary::Edge,
            "array",
        )
        .unwrap_err();
        assert!(e.to_string().contains("too large"), "{e}");
        let e = PadPlan::backward(&[3], &[[2, 2]], Boundary::Edge, "grad").unwrap_err();
        assert!(e.to_string().contains("grad has length 3"), "{e}");
    }
}
