//! Padding: the boundary rules every family shares.
//!
//! [`Boundary`] names each way of extending an axis beyond its ends, and
//! [`source_index`] is the one place that maps a position outside the axis to
//! the input element it repeats. numpy.pad, scipy.signal's 2-D `boundary=`,
//! torch's `padding_mode` and the padding kernels all go through it.

use crate::error::{Error, Result};

/// How an axis continues beyond its ends (see DESIGN.md's name table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// A constant value (numpy 'constant', scipy 'fill', torch 'zeros'/'constant').
    Constant,
    /// The edge element repeated (numpy 'edge', torch 'replicate').
    Edge,
    /// Mirror without repeating the edge, `dcb|abcd` (numpy 'reflect', torch 'reflect').
    Reflect,
    /// Mirror repeating the edge, `cba|abcd` (numpy 'symmetric', scipy 'symm').
    Symmetric,
    /// Periodic (numpy 'wrap', scipy 'wrap', torch 'circular').
    Wrap,
}

impl Boundary {
    /// Parses numpy.pad's mode names and torch's aliases (`'replicate'`,
    /// `'circular'`, `'zeros'`). `arg` names the argument in the error.
    pub fn parse_pad_mode(s: &str, arg: &str) -> Result<Self> {
        match s {
            "constant" | "zeros" => Ok(Boundary::Constant),
            "edge" | "replicate" => Ok(Boundary::Edge),
            "reflect" => Ok(Boundary::Reflect),
            "symmetric" => Ok(Boundary::Symmetric),
            "wrap" | "circular" => Ok(Boundary::Wrap),
            other => Err(Error::value(format!(
                "{arg} must be one of 'constant', 'edge', 'reflect', 'symmetric', 'wrap' (or torch's 'zeros', 'replicate', 'circular'), got {other:?}"
            ))),
        }
    }
}

/// The input index that position `i` (which may lie outside `0..len`)
/// repeats under `boundary`, or `None` where the constant value applies.
///
/// Positions any distance outside the axis are allowed: the mirror and wrap
/// rules repeat periodically, which is what numpy.pad produces for pads wider
/// than the axis. `len` must be at least 1.
#[inline]
pub fn source_index(i: isize, len: usize, boundary: Boundary) -> Option<usize> {
    debug_assert!(len > 0);
    // Lengths come from allocated arrays, so they fit in isize.
    let n = len as isize;
    if (0..n).contains(&i) {
        return Some(i as usize);
    }
    let j = match boundary {
        Boundary::Constant => return None,
        Boundary::Edge => i.clamp(0, n - 1),
        Boundary::Wrap => i.rem_euclid(n),
        Boundary::Symmetric => {
            let m = i.rem_euclid(2 * n);
            if m < n { m } else { 2 * n - 1 - m }
        }
        Boundary::Reflect => {
            if n == 1 {
                0
            } else {
                let period = 2 * (n - 1);
                let m = i.rem_euclid(period);
                if m < n { m } else { period - m }
            }
        }
    };
    Some(j as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extend(len: usize, before: isize, after: isize, b: Boundary) -> Vec<Option<usize>> {
        (-before..len as isize + after)
            .map(|i| source_index(i, len, b))
            .collect()
    }

    fn some(v: &[usize]) -> Vec<Option<usize>> {
        v.iter().copied().map(Some).collect()
    }

    // Expected values are numpy.pad(np.arange(4), 9, mode) and friends.
    #[test]
    fn matches_numpy_pad_far_outside() {
        assert_eq!(
            extend(4, 9, 9, Boundary::Reflect),
            some(&[
                3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0
            ])
        );
        assert_eq!(
            extend(4, 9, 9, Boundary::Symmetric),
            some(&[
                0, 0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3
            ])
        );
        assert_eq!(
            extend(4, 9, 9, Boundary::Wrap),
            some(&[
                3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0
            ])
        );
        assert_eq!(
            extend(4, 2, 2, Boundary::Edge),
            some(&[0, 0, 0, 1, 2, 3, 3, 3])
        );
        assert_eq!(
            extend(2, 1, 1, Boundary::Constant),
            vec![None, Some(0), Some(1), None]
        );
    }

    #[test]
    fn single_element_axis() {
        for b in [
            Boundary::Reflect,
            Boundary::Symmetric,
            Boundary::Wrap,
            Boundary::Edge,
        ] {
            assert_eq!(extend(1, 3, 3, b), some(&[0; 7]));
        }
        assert_eq!(
            extend(2, 5, 5, Boundary::Reflect),
            some(&[1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
        );
    }

    #[test]
    fn names_and_aliases() {
        assert_eq!(
            Boundary::parse_pad_mode("replicate", "mode").unwrap(),
            Boundary::Edge
        );
        assert_eq!(
            Boundary::parse_pad_mode("circular", "mode").unwrap(),
            Boundary::Wrap
        );
        let e = Boundary::parse_pad_mode("mirror", "mode").unwrap_err();
        assert!(e.to_string().contains("mode must be one of"));
    }
}
