//! Validated geometry of a correlation: output shape and offsets per axis.

use crate::buffer::checked_product;
use crate::error::{Error, Result};
use crate::params::Mode;

/// Where 'same' mode places the output inside the full correlation. The two
/// conventions differ by one for even kernels (see DESIGN.md's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameOrigin {
    /// Left offset `k // 2`: scipy.signal.correlate, convolve and
    /// convolve2d (in the flipped-kernel form).
    Centre,
    /// Left offset `(k − 1) // 2`: scipy.signal.correlate2d.
    Left,
}

/// The geometry of `out[i] = Σ_j ext(input)[i − offset + j] · taps[j]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelateParams {
    /// Output shape.
    pub out_shape: Vec<usize>,
    /// Left offset per axis (how far the kernel reaches before the input).
    pub offsets: Vec<usize>,
    /// Whether the kernel is reversed (convolution).
    pub flip: bool,
}

impl CorrelateParams {
    /// Validates shapes for `mode` and computes the output shape and offsets.
    ///
    /// In 'valid' mode the input must be at least as large as the kernel in
    /// every dimension (the Python layer swaps the inputs first, as scipy does).
    pub fn new(
        in_shape: &[usize],
        kernel_shape: &[usize],
        mode: Mode,
        same: SameOrigin,
        flip: bool,
    ) -> Result<Self> {
        if in_shape.len() != kernel_shape.len() {
            return Err(Error::value(format!(
                "in1 and in2 should have the same dimensionality, got in1.ndim={} and in2.ndim={}",
                in_shape.len(),
                kernel_shape.len()
            )));
        }
        let mut out_shape = Vec::with_capacity(in_shape.len());
        let mut offsets = Vec::with_capacity(in_shape.len());
        for (axis, (&n, &k)) in in_shape.iter().zip(kernel_shape).enumerate() {
            let (out, offset) = match mode {
                Mode::Full => {
                    let out = n
                        .checked_add(k)
                        .ok_or_else(|| Error::overflow("the full output"))?
                        .checked_sub(1)
                        .ok_or_else(|| {
                            Error::value(format!(
                                "mode 'full' needs in1 or in2 to be non-empty along axis {axis}, but both have length 0"
                            ))
                        })?;
                    (out, k.saturating_sub(1))
                }
                Mode::Same => {
                    let offset = match same {
                        SameOrigin::Centre => k / 2,
                        SameOrigin::Left => k.saturating_sub(1) / 2,
                    };
                    (n, offset)
                }
                Mode::Valid => {
                    if n < k {
                        return Err(Error::value(format!(
                            "for mode 'valid', in1 must be at least as large as in2 in every dimension, but along axis {axis} in1 has length {n} and in2 has length {k}"
                        )));
                    }
                    (n - k + 1, 0)
                }
            };
            out_shape.push(out);
            offsets.push(offset);
        }
        checked_product(&out_shape, "the output")?;
        Ok(Self {
            out_shape,
            offsets,
            flip,
        })
    }

    /// Number of output elements.
    pub fn out_len(&self) -> usize {
        // Checked in `new`.
        self.out_shape.iter().product()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_offsets() {
        let p =
            CorrelateParams::new(&[8, 5], &[4, 3], Mode::Full, SameOrigin::Centre, false).unwrap();
        assert_eq!(p.out_shape, vec![11, 7]);
        assert_eq!(p.offsets, vec![3, 2]);
        let p = CorrelateParams::new(&[8], &[4], Mode::Same, SameOrigin::Centre, false).unwrap();
        assert_eq!((p.out_shape[0], p.offsets[0]), (8, 2));
        let p = CorrelateParams::new(&[8], &[4], Mode::Same, SameOrigin::Left, false).unwrap();
        assert_eq!((p.out_shape[0], p.offsets[0]), (8, 1));
        let p = CorrelateParams::new(&[8], &[4], Mode::Valid, SameOrigin::Left, false).unwrap();
        assert_eq!((p.out_shape[0], p.offsets[0]), (5, 0));
        let p = CorrelateParams::new(&[3], &[0], Mode::Valid, SameOrigin::Left, false).unwrap();
        assert_eq!(p.out_shape[0], 4);
    }

    #[test]
    fn invalid_geometry_is_an_error() {
        assert!(CorrelateParams::new(&[3], &[4], Mode::Valid, SameOrigin::Left, false).is_err());
        assert!(CorrelateParams::new(&[0], &[0], Mode::Full, SameOrigin::Left, false).is_err());
        assert!(CorrelateParams::new(&[3], &[4, 1], Mode::Full, SameOrigin::Left, false).is_err());
        assert!(
            CorrelateParams::new(
                &[usize::MAX, 2],
                &[2, 2],
                Mode::Full,
                SameOrigin::Left,
                false
            )
            .is_err()
        );
    }
}
