//! Validated pooling geometry. One struct serves 1-D, 2-D and 3-D pooling:
//! lower ranks are stored as 3-D with unit leading dimensions (kernel 1,
//! stride 1, padding 0, dilation 1), so every kernel is written once.
//!
//! This file owns the output-size formula, the average-pool divisor and the
//! adaptive window bounds; kernels trust what it computes.

use crate::buffer::checked_product;
use crate::conv::params::output_size;
use crate::error::{Error, Result};
use std::fmt::Display;

/// Pooling works on 1, 2 or 3 spatial dimensions.
pub const MAX_RANK: usize = 3;

/// `(a, b)` / `(a,)`: Python's tuple spelling, so messages read like the call.
pub fn fmt_tuple<V: Display>(values: &[V]) -> String {
    let parts: Vec<String> = values.iter().map(ToString::to_string).collect();
    if parts.len() == 1 {
        format!("({},)", parts[0])
    } else {
        format!("({})", parts.join(", "))
    }
}

/// An input shape split into its planes and its spatial part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaneShape {
    /// Product of the leading (batch and channel) dimensions.
    pub planes: usize,
    /// The leading dimensions themselves: `(N, C)` or `(C,)`.
    pub leading: Vec<usize>,
    /// The last `rank` dimensions.
    pub spatial: Vec<usize>,
}

impl PlaneShape {
    /// Splits `shape`, which must be `(N, C, *spatial)` or the unbatched
    /// `(C, *spatial)` with `rank` spatial dimensions, each at least 1.
    pub fn split(shape: &[usize], rank: usize, arg: &str, func: &str) -> Result<Self> {
        if !(1..=MAX_RANK).contains(&rank) {
            return Err(Error::value(format!(
                "{func} supports 1 to 3 spatial dimensions, got {rank}"
            )));
        }
        if shape.len() != rank + 1 && shape.len() != rank + 2 {
            return Err(Error::value(format!(
                "{arg} of {func} must have {} (unbatched: channels, *spatial) or {} (batched: batch, channels, *spatial) dimensions, got shape {}",
                rank + 1,
                rank + 2,
                fmt_tuple(shape)
            )));
        }
        let split = shape.len() - rank;
        let spatial = shape[split..].to_vec();
        if spatial.contains(&0) {
            return Err(Error::value(format!(
                "{arg} of {func} must have non-empty spatial dimensions, got shape {}",
                fmt_tuple(shape)
            )));
        }
        let leading = shape[..split].to_vec();
        let planes = checked_product(&leading, arg)?;
        checked_product(shape, arg)?;
        Ok(PlaneShape {
            planes,
            leading,
            spatial,
        })
    }

    /// The full shape of a result with the same leading dimensions and the
    /// given spatial dimensions.
    pub fn with_spatial(&self, spatial: &[usize]) -> Vec<usize> {
        let mut shape = self.leading.clone();
        shape.extend_from_slice(spatial);
        shape
    }
}

/// `values` as positive sizes, or an error naming `arg`.
fn positive(values: &[i64], arg: &str) -> Result<Vec<usize>> {
    values
        .iter()
        .map(|&v| usize::try_from(v).ok().filter(|&u| u > 0))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| {
            Error::value(format!(
                "{arg} must be positive in every dimension, got {}",
                fmt_tuple(values)
            ))
        })
}

fn check_len(values: &[i64], rank: usize, arg: &str) -> Result<()> {
    if values.len() == rank {
        Ok(())
    } else {
        Err(Error::value(format!(
            "{arg} must have {rank} entries (one per spatial dimension), got {}",
            fmt_tuple(values)
        )))
    }
}

/// Places a rank-`len` list in the last entries of a 3-D one.
fn to_3d(values: &[usize], fill: usize) -> [usize; MAX_RANK] {
    let mut out = [fill; MAX_RANK];
    out[MAX_RANK - values.len()..].copy_from_slice(values);
    out
}

/// torch's pooled length along one axis:
/// `⌊(L + 2P − D(K − 1) − 1 + (ceil ? S − 1 : 0)) / S⌋ + 1`, and in ceil mode
/// the last window is dropped when it would start in the right padding
/// (`(out − 1)·S ≥ L + P`). `None` when the dilated window is wider than the
/// padded input. The floor is the convolution's [`output_size`], which owns
/// that formula.
pub fn pooled_len(
    input: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
    ceil_mode: bool,
) -> Result<Option<usize>> {
    let Some(floor) = output_size(input, kernel, stride, padding, padding, dilation)? else {
        return Ok(None);
    };
    if !ceil_mode {
        return Ok(Some(floor));
    }
    // Rounding up is rounding down with S − 1 more padding after the input.
    let after = padding
        .checked_add(stride - 1)
        .ok_or_else(|| Error::overflow("the pooling geometry"))?;
    let ceil = output_size(input, kernel, stride, padding, after, dilation)?.unwrap_or(floor);
    // ceil ≥ floor ≥ 1, and (ceil − 1)·S ≤ L + P + S − 1 − span fits.
    Ok(Some(if (ceil - 1) * stride >= input + padding {
        ceil - 1
    } else {
        ceil
    }))
}

/// A validated pooling geometry (max, average and Lp pooling).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolGeometry {
    /// Number of spatial dimensions the caller asked for (1, 2 or 3).
    pub rank: usize,
    /// Number of (n, c) planes.
    pub planes: usize,
    /// Spatial input size (depth, height, width); unit where rank < 3.
    pub input: [usize; MAX_RANK],
    /// Kernel size per axis.
    pub kernel: [usize; MAX_RANK],
    /// Stride per axis.
    pub stride: [usize; MAX_RANK],
    /// Implicit padding on both sides per axis.
    pub padding: [usize; MAX_RANK],
    /// Dilation per axis.
    pub dilation: [usize; MAX_RANK],
    /// Spatial output size per axis.
    pub output: [usize; MAX_RANK],
}

impl PoolGeometry {
    /// Validates the arguments of a `func` call on `planes` planes of
    /// spatial size `spatial` (one entry per spatial dimension).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        planes: usize,
        spatial: &[usize],
        kernel_size: &[i64],
        stride: &[i64],
        padding: &[i64],
        dilation: &[i64],
        ceil_mode: bool,
        func: &str,
    ) -> Result<Self> {
        let rank = spatial.len();
        if !(1..=MAX_RANK).contains(&rank) {
            return Err(Error::value(format!(
                "{func} supports 1 to 3 spatial dimensions, got {rank}"
            )));
        }
        check_len(kernel_size, rank, "kernel_size")?;
        check_len(stride, rank, "stride")?;
        check_len(padding, rank, "padding")?;
        check_len(dilation, rank, "dilation")?;
        let kernel = positive(kernel_size, "kernel_size")?;
        let strides = positive(stride, "stride")?;
        let dilations = positive(dilation, "dilation")?;
        let pads: Vec<usize> = padding
            .iter()
            .zip(&kernel)
            .map(|(&p, &k)| usize::try_from(p).ok().filter(|&p| p <= k / 2))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                Error::value(format!(
                    "padding must be non-negative and at most half the kernel size, got padding={} with kernel_size={}",
                    fmt_tuple(padding),
                    fmt_tuple(kernel_size)
                ))
            })?;
        let mut output = Vec::with_capacity(rank);
        for axis in 0..rank {
            match pooled_len(
                spatial[axis],
                kernel[axis],
                strides[axis],
                pads[axis],
                dilations[axis],
                ceil_mode,
            )? {
                Some(o) => output.push(o),
                None => {
                    return Err(Error::value(format!(
                        "kernel_size={} with dilation={} is larger than the padded input: input spatial shape {} with padding={} on each side",
                        fmt_tuple(kernel_size),
                        fmt_tuple(dilation),
                        fmt_tuple(spatial),
                        fmt_tuple(padding)
                    )));
                }
            }
        }
        let geometry = PoolGeometry {
            rank,
            planes,
            input: to_3d(spatial, 1),
            kernel: to_3d(&kernel, 1),
            stride: to_3d(&strides, 1),
            padding: to_3d(&pads, 0),
            dilation: to_3d(&dilations, 1),
            output: to_3d(&output, 1),
        };
        // The max kernels number the taps of a window in 32 bits.
        if checked_product(&geometry.kernel, "kernel_size")? > u32::MAX as usize {
            return Err(Error::value(format!(
                "kernel_size={} has more than 2^32 elements per window",
                fmt_tuple(kernel_size)
            )));
        }
        // With dilation a window can fall between input elements entirely
        // (torch then reports −inf at an index outside the plane); rustconv
        // refuses such a geometry instead.
        for axis in 0..MAX_RANK {
            // Only windows that start in the left padding can miss the
            // input (later ones start inside it: the output-size rule sees
            // to that), and for each the first tap at or past 0 decides.
            let (s, p, d) = (
                geometry.stride[axis],
                geometry.padding[axis],
                geometry.dilation[axis],
            );
            // With L ≥ D the first tap past 0 lies inside the input, so only
            // running out of taps can fail, and that happens first at o = 0
            // (this keeps the check O(1) for the huge sizes
            // `pool_output_shape` may see); with L < D the windows are few.
            let in_left_padding = if d == 1 {
                0
            } else if geometry.input[axis] >= d {
                geometry.output[axis].min(1)
            } else {
                geometry.output[axis].min(p / s + 1)
            };
            if let Some(o) = (0..in_left_padding).find(|&o| {
                let first = p.saturating_sub(o * s).div_ceil(d);
                first >= geometry.kernel[axis] || geometry.tap(axis, o, first).is_none()
            }) {
                return Err(Error::value(format!(
                    "with kernel_size={}, dilation={} and padding={} the window of output {o} along spatial axis {} covers no input element (input spatial shape {})",
                    fmt_tuple(kernel_size),
                    fmt_tuple(dilation),
                    fmt_tuple(padding),
                    (axis + rank).saturating_sub(MAX_RANK),
                    fmt_tuple(spatial)
                )));
            }
        }
        // Every size the kernels derive must fit; checking once here lets
        // them use plain arithmetic.
        // Every factor at once: in_plane()/out_plane() multiply unchecked.
        checked_product(&[&[planes][..], &geometry.input].concat(), "the input")?;
        checked_product(&[&[planes][..], &geometry.output].concat(), "the output")?;
        checked_product(&[&[planes, 8][..], &geometry.input].concat(), "the input")?;
        Ok(geometry)
    }

    /// Elements in one input plane.
    pub fn in_plane(&self) -> usize {
        self.input.iter().product()
    }

    /// Elements in one output plane.
    pub fn out_plane(&self) -> usize {
        self.output.iter().product()
    }

    /// About how many elementary operations the forward pass takes (input
    /// read once, each output visiting its window): what decides whether
    /// the job is split across threads.
    pub fn work(&self) -> usize {
        let volume: usize = self.kernel.iter().product();
        self.planes.saturating_mul(
            self.in_plane()
                .saturating_add(self.out_plane().saturating_mul(volume)),
        )
    }

    /// The spatial output shape in the caller's rank.
    pub fn output_spatial(&self) -> Vec<usize> {
        self.output[MAX_RANK - self.rank..].to_vec()
    }

    /// Input position of tap `k` of output `o` along `axis`, if it lies
    /// inside the input (not in the padding).
    #[inline]
    pub fn tap(&self, axis: usize, o: usize, k: usize) -> Option<usize> {
        (o * self.stride[axis] + k * self.dilation[axis])
            .checked_sub(self.padding[axis])
            .filter(|&i| i < self.input[axis])
    }

    /// The outputs `lo..hi` along `axis` whose tap `k` lies inside the input.
    /// They read the input from `lo·S + k·D − P` on with step `S`.
    #[inline]
    pub fn outputs_hitting(&self, axis: usize, k: usize) -> (usize, usize) {
        let (s, p, len) = (self.stride[axis], self.padding[axis], self.input[axis]);
        let offset = k * self.dilation[axis];
        let lo = if offset >= p {
            0
        } else {
            (p - offset).div_ceil(s)
        };
        let hi = if len + p <= offset {
            0
        } else {
            ((len - 1 + p - offset) / s + 1).min(self.output[axis])
        };
        (lo.min(hi), hi)
    }

    /// torch's average-pool divisor factor along one axis for output `o`:
    /// the window `[o·S − P, min(o·S − P + K, L + P))` counted with its padding,
    /// or only its part inside `[0, L)` when `count_include_pad` is false.
    pub fn divisor_factor(&self, axis: usize, o: usize, count_include_pad: bool) -> usize {
        let (s, p, k, len) = (
            self.stride[axis],
            self.padding[axis],
            self.kernel[axis],
            self.input[axis],
        );
        // Shifted by P so every bound is non-negative.
        let start = o * s;
        let end = (start + k).min(len + 2 * p);
        if count_include_pad {
            end - start
        } else {
            end.min(len + p).saturating_sub(start.max(p))
        }
    }
}

/// A validated adaptive-pooling geometry: output `o` of `O` along an axis of
/// length `L` covers `[⌊o·L/O⌋, ⌈(o+1)·L/O⌉)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdaptiveGeometry {
    /// Number of spatial dimensions the caller asked for.
    pub rank: usize,
    /// Number of (n, c) planes.
    pub planes: usize,
    /// Spatial input size; unit where rank < 3.
    pub input: [usize; MAX_RANK],
    /// Spatial output size; unit where rank < 3.
    pub output: [usize; MAX_RANK],
}

impl AdaptiveGeometry {
    /// Validates `output_size` (None entries keep the input's size).
    pub fn new(planes: usize, spatial: &[usize], output_size: &[Option<i64>]) -> Result<Self> {
        let rank = spatial.len();
        if output_size.len() != rank {
            let shown: Vec<String> = output_size
                .iter()
                .map(|o| o.map_or_else(|| "None".to_string(), |v| v.to_string()))
                .collect();
            return Err(Error::value(format!(
                "output_size must have {rank} entries (one per spatial dimension), got {}",
                fmt_tuple(&shown)
            )));
        }
        let mut output = Vec::with_capacity(rank);
        for (&o, &len) in output_size.iter().zip(spatial) {
            let size = match o {
                None => len,
                Some(v) => usize::try_from(v).ok().filter(|&u| u > 0).ok_or_else(|| {
                    Error::value(format!(
                        "output_size must be at least 1 (or None) in every dimension, got {v}"
                    ))
                })?,
            };
            // The window bounds compute (o + 1)·L.
            checked_product(&[size + 1, len], "output_size")?;
            output.push(size);
        }
        let geometry = AdaptiveGeometry {
            rank,
            planes,
            input: to_3d(spatial, 1),
            output: to_3d(&output, 1),
        };
        // Every factor at once: in_plane()/out_plane() multiply unchecked.
        checked_product(&[&[planes][..], &geometry.input].concat(), "the input")?;
        checked_product(&[&[planes][..], &geometry.output].concat(), "the output")?;
        Ok(geometry)
    }

    /// Elements in one input plane.
    pub fn in_plane(&self) -> usize {
        self.input.iter().product()
    }

    /// Elements in one output plane.
    pub fn out_plane(&self) -> usize {
        self.output.iter().product()
    }

    /// About how many elementary operations a pass takes (input read once,
    /// output written once): what decides whether the job is split.
    pub fn work(&self) -> usize {
        self.planes
            .saturating_mul(self.in_plane().saturating_add(self.out_plane()))
    }

    /// The spatial output shape in the caller's rank.
    pub fn output_spatial(&self) -> Vec<usize> {
        self.output[MAX_RANK - self.rank..].to_vec()
    }

    /// The input window `[start, end)` of output `o` along `axis`.
    #[inline]
    pub fn window(&self, axis: usize, o: usize) -> (usize, usize) {
        let (len, out) = (self.input[axis], self.output[axis]);
        (o * len / out, ((o + 1) * len).div_ceil(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_length_matches_torch_examples() {
        // (L, K, S, P, D, ceil) → torch's output length.
        let cases = [
            ((112, 3, 2, 1, 1, false), 56),
            ((5, 2, 2, 0, 1, false), 2),
            ((5, 2, 2, 0, 1, true), 3),
            ((6, 3, 2, 1, 1, true), 4), // the last window starts at 5, inside the input
            ((4, 2, 3, 1, 1, true), 2),
            ((10, 3, 1, 0, 2, false), 6),
        ];
        for ((l, k, s, p, d, c), want) in cases {
            assert_eq!(
                pooled_len(l, k, s, p, d, c).unwrap(),
                Some(want),
                "{l} {k} {s} {p} {d} {c}"
            );
        }
        assert_eq!(pooled_len(2, 5, 1, 1, 1, false).unwrap(), None);
    }

    #[test]
    fn ceil_mode_drops_window_starting_in_right_padding() {
        // L = 5, K = 2, S = 2, P = 1: plain ceil gives 4 windows starting at
        // −1, 1, 3, 5; the last starts at 5 = L, in the right padding.
        assert_eq!(pooled_len(5, 2, 2, 1, 1, true).unwrap(), Some(3));
    }

    #[test]
    fn invalid_arguments_are_value_errors() {
        let geometry = |k: &[i64], s: &[i64], p: &[i64], d: &[i64]| {
            PoolGeometry::new(1, &[5, 5], k, s, p, d, false, "max_pool2d")
        };
        assert!(geometry(&[3, 3], &[1, 1], &[0, 0], &[1, 1]).is_ok());
        assert!(geometry(&[0, 3], &[1, 1], &[0, 0], &[1, 1]).is_err());
        assert!(geometry(&[3, 3], &[1, -1], &[0, 0], &[1, 1]).is_err());
        assert!(geometry(&[3, 3], &[1, 1], &[2, 0], &[1, 1]).is_err());
        assert!(geometry(&[3, 3], &[1, 1], &[0, 0], &[0, 1]).is_err());
        assert!(geometry(&[6, 3], &[1, 1], &[0, 0], &[1, 1]).is_err());
        assert!(geometry(&[3], &[1, 1], &[0, 0], &[1, 1]).is_err());
        assert!(geometry(&[i64::MAX, 3], &[1, 1], &[0, 0], &[1, 1]).is_err());
        assert!(geometry(&[3, 3], &[1, 1], &[1, 1], &[i64::MAX, 1]).is_err());
    }

    #[test]
    fn divisor_follows_torch() {
        // L = 5, K = 3, S = 2, P = 1, ceil: windows start at −1, 1, 3.
        let g = PoolGeometry::new(1, &[5], &[3], &[2], &[1], &[1], true, "avg_pool1d").unwrap();
        assert_eq!(g.output[2], 3);
        let with: Vec<usize> = (0..3).map(|o| g.divisor_factor(2, o, true)).collect();
        let without: Vec<usize> = (0..3).map(|o| g.divisor_factor(2, o, false)).collect();
        assert_eq!(with, [3, 3, 3]);
        assert_eq!(without, [2, 3, 2]);
        // L = 5, K = 2, S = 2, P = 0, ceil: the last window [4, 6) is cut to
        // the padded input [0, 5).
        let g = PoolGeometry::new(1, &[5], &[2], &[2], &[0], &[1], true, "avg_pool1d").unwrap();
        assert_eq!(g.divisor_factor(2, 2, true), 1);
    }

    #[test]
    fn outputs_hitting_agrees_with_tap() {
        for (l, k, s, p, d) in [
            (7, 3, 2, 1, 1),
            (9, 3, 3, 1, 2),
            (5, 4, 1, 2, 1),
            (1, 1, 1, 0, 1),
        ] {
            let Ok(g) = PoolGeometry::new(1, &[l], &[k], &[s], &[p], &[d], true, "f") else {
                continue;
            };
            for kk in 0..k as usize {
                let (lo, hi) = g.outputs_hitting(2, kk);
                for o in 0..g.output[2] {
                    assert_eq!(g.tap(2, o, kk).is_some(), (lo..hi).contains(&o));
                }
            }
        }
    }

    #[test]
    fn adaptive_windows_cover_input() {
        let g = AdaptiveGeometry::new(1, &[10], &[Some(3)]).unwrap();
        let w: Vec<_> = (0..3).map(|o| g.window(2, o)).collect();
        assert_eq!(w, [(0, 4), (3, 7), (6, 10)]);
        assert!(AdaptiveGeometry::new(1, &[10], &[Some(0)]).is_err());
        assert_eq!(
            AdaptiveGeometry::new(1, &[10], &[None]).unwrap().output[2],
            10
        );
    }
}
