//! The validated geometry of an FFT convolution: which axes are transformed,
//! whether the inputs swap, and the output window inside the full result.
//! Every shape formula of `fftconvolve` / `oaconvolve` lives here.

use crate::error::{Error, Result};
use crate::params::Mode;

/// scipy.signal.fftconvolve's geometry for two input shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FftConvGeometry {
    /// Transformed axes, ascending, without axes where either input has
    /// length 1 (those broadcast like the other axes, as in scipy).
    pub axes: Vec<usize>,
    /// Whether 'valid' mode swapped the inputs (in2 is the larger).
    pub swapped: bool,
    /// Size of the full result per axis: n1 + n2 − 1 on transformed axes,
    /// max(n1, n2) (broadcast) on the others.
    pub full: Vec<usize>,
    /// Start of the output window inside the full result, per axis.
    pub start: Vec<usize>,
    /// The output shape.
    pub shape: Vec<usize>,
}

fn shape_text(shape: &[usize]) -> String {
    let items: Vec<String> = shape.iter().map(ToString::to_string).collect();
    if items.len() == 1 {
        format!("({},)", items[0])
    } else {
        format!("({})", items.join(", "))
    }
}

/// Normalises `axes` (negative counts from the end) and checks range and
/// uniqueness; `None` means every axis.
pub fn normalize_axes(axes: Option<&[i64]>, ndim: usize) -> Result<Vec<usize>> {
    let Some(axes) = axes else {
        return Ok((0..ndim).collect());
    };
    if axes.is_empty() {
        return Err(Error::value(
            "axes must not be empty when given; pass None to convolve over every axis",
        ));
    }
    let signed_ndim =
        i64::try_from(ndim).map_err(|_| Error::overflow("the number of dimensions"))?;
    let mut out = Vec::with_capacity(axes.len());
    for &axis in axes {
        let positive = if axis < 0 { axis + signed_ndim } else { axis };
        if !(0..signed_ndim).contains(&positive) {
            return Err(Error::value(format!(
                "axes contains {axis}, which exceeds the dimensionality of the inputs ({ndim}); allowed are -{ndim} to {}",
                signed_ndim - 1
            )));
        }
        let positive = usize::try_from(positive).map_err(|_| Error::overflow("axes"))?;
        if out.contains(&positive) {
            return Err(Error::value(format!(
                "axes must be unique, got {axes:?} (axis {positive} appears twice)"
            )));
        }
        out.push(positive);
    }
    Ok(out)
}

impl FftConvGeometry {
    /// Validates two shapes, `axes` and `mode` exactly as scipy.signal 1.17's
    /// fftconvolve does, and computes the output window.
    pub fn new(
        shape1: &[usize],
        shape2: &[usize],
        axes: Option<&[i64]>,
        mode: Mode,
    ) -> Result<Self> {
        if shape1.len() != shape2.len() {
            return Err(Error::value(format!(
                "in1 and in2 should have the same dimensionality, got in1 with shape {} and in2 with shape {}",
                shape_text(shape1),
                shape_text(shape2)
            )));
        }
        if shape1.contains(&0) || shape2.contains(&0) {
            return Err(Error::value(format!(
                "in1 and in2 must not be empty for the FFT kernels, got shapes {} and {}",
                shape_text(shape1),
                shape_text(shape2)
            )));
        }
        let ndim = shape1.len();
        let mut axes = normalize_axes(axes, ndim)?;
        // A length-1 axis needs no transform: broadcasting the product is the
        // convolution (scipy drops such axes the same way).
        axes.retain(|&a| shape1[a] != 1 && shape2[a] != 1);
        axes.sort_unstable();
        for a in (0..ndim).filter(|a| !axes.contains(a)) {
            if shape1[a] != shape2[a] && shape1[a] != 1 && shape2[a] != 1 {
                return Err(Error::value(format!(
                    "incompatible shapes for in1 and in2: {} and {}; along axis {a}, which is not convolved, the sizes must be equal or one of them 1",
                    shape_text(shape1),
                    shape_text(shape2)
                )));
            }
        }
        let swapped = if mode == Mode::Valid && ndim > 0 {
            let first_larger = axes.iter().all(|&a| shape1[a] >= shape2[a]);
            let second_larger = axes.iter().all(|&a| shape2[a] >= shape1[a]);
            if !first_larger && !second_larger {
                return Err(Error::value(format!(
                    "For 'valid' mode, one must be at least as large as the other in every dimension; got in1 with shape {} and in2 with shape {}",
                    shape_text(shape1),
                    shape_text(shape2)
                )));
            }
            !first_larger
        } else {
            false
        };
        let (s1, s2) = if swapped {
            (shape2, shape1)
        } else {
            (shape1, shape2)
        };
        let mut full = Vec::with_capacity(ndim);
        let mut start = Vec::with_capacity(ndim);
        let mut shape = Vec::with_capacity(ndim);
        for a in 0..ndim {
            let transformed = axes.contains(&a);
            let f = if transformed {
                s1[a]
                    .checked_add(s2[a] - 1)
                    .ok_or_else(|| Error::overflow("the full output size"))?
            } else {
                s1[a].max(s2[a])
            };
            let len = match mode {
                Mode::Full => f,
                Mode::Same => s1[a],
                Mode::Valid if transformed => s1[a] - s2[a] + 1,
                Mode::Valid => f,
            };
            full.push(f);
            // scipy's _centered: the window starts at (full − len) // 2.
            start.push((f - len) / 2);
            shape.push(len);
        }
        crate::buffer::checked_product(&shape, "the output")?;
        Ok(Self {
            axes,
            swapped,
            full,
            start,
            shape,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_give_scipy_shapes() {
        let g = FftConvGeometry::new(&[10, 7], &[3, 4], None, Mode::Full).unwrap();
        assert_eq!(
            (g.shape.clone(), g.start.clone()),
            (vec![12, 10], vec![0, 0])
        );
        let g = FftConvGeometry::new(&[10, 7], &[3, 4], None, Mode::Same).unwrap();
        assert_eq!(
            (g.shape.clone(), g.start.clone()),
            (vec![10, 7], vec![1, 1])
        );
        let g = FftConvGeometry::new(&[3, 4], &[10, 7], None, Mode::Valid).unwrap();
        assert!(g.swapped);
        assert_eq!((g.shape, g.start), (vec![8, 4], vec![2, 3]));
    }

    #[test]
    fn broadcast_axes_and_errors() {
        let g = FftConvGeometry::new(&[1, 6], &[5, 3], Some(&[-1]), Mode::Same).unwrap();
        assert_eq!(g.axes, vec![1]);
        assert_eq!((g.shape, g.start), (vec![1, 6], vec![2, 1]));
        assert!(FftConvGeometry::new(&[2, 6], &[5, 3], Some(&[1]), Mode::Full).is_err());
        assert!(FftConvGeometry::new(&[3, 2], &[2, 3], None, Mode::Valid).is_err());
        assert!(FftConvGeometry::new(&[3], &[2, 3], None, Mode::Full).is_err());
        assert!(FftConvGeometry::new(&[3, 3], &[2, 3], Some(&[2]), Mode::Full).is_err());
        assert!(FftConvGeometry::new(&[3, 3], &[2, 3], Some(&[0, -2]), Mode::Full).is_err());
        assert!(FftConvGeometry::new(&[3, 3], &[2, 3], Some(&[]), Mode::Full).is_err());
    }
}
