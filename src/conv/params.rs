//! Validated geometry of a convolution layer: the one place that owns the
//! output-size formulas (forward and transposed) and every geometry check.
//!
//! Every rank (1-D, 2-D, 3-D) is stored as 3-D: missing leading spatial
//! dimensions have size 1, kernel 1, stride 1, dilation 1 and no padding, so
//! each kernel is written once.

use crate::error::{Error, Result};
use crate::pad::Boundary;

/// The padding argument of a forward convolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Padding {
    /// Explicit, symmetric padding per spatial dimension.
    Explicit(Vec<i64>),
    /// torch's `'same'`: the output has the input's size (stride 1 only);
    /// for an even total the left side gets `total / 2`.
    Same,
    /// torch's `'valid'`: no padding.
    Valid,
}

impl Padding {
    /// Parses `'same'` or `'valid'`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "same" => Ok(Padding::Same),
            "valid" => Ok(Padding::Valid),
            other => Err(Error::value(format!(
                "padding must be an int, a tuple of ints, 'same' or 'valid', got {other:?}"
            ))),
        }
    }
}

/// The geometry of one convolution `out = conv(input, weight)` (cross-
/// correlation, torch semantics), validated. Backward-data and transposed
/// convolution use the same struct: they compute the adjoint map from `out`
/// back to `input`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Number of spatial dimensions the user asked for (1, 2 or 3).
    pub rank: usize,
    /// N.
    pub batch: usize,
    /// Channels of `input`.
    pub in_channels: usize,
    /// Channels of `out`.
    pub out_channels: usize,
    /// Channel groups.
    pub groups: usize,
    /// Spatial size of `input` as (D, H, W).
    pub in_size: [usize; 3],
    /// Kernel size as (D, H, W).
    pub kernel: [usize; 3],
    /// Spatial size of `out` as (D, H, W).
    pub out_size: [usize; 3],
    /// Stride per axis.
    pub stride: [usize; 3],
    /// Dilation per axis.
    pub dilation: [usize; 3],
    /// Padding before the first element per axis (the right side only
    /// changes the output size, which `out_size` already holds).
    pub pad_before: [usize; 3],
    /// How the padded region is filled (`Constant` = zeros).
    pub boundary: Boundary,
}

fn name_of(rank: usize) -> &'static str {
    match rank {
        1 => "conv1d",
        2 => "conv2d",
        _ => "conv3d",
    }
}

/// Converts a per-dimension argument to `usize`s, checking its length and
/// lower bound. `min` is 0 for padding and 1 for stride and dilation.
fn per_dim(values: &[i64], rank: usize, arg: &str, min: i64) -> Result<Vec<usize>> {
    if values.len() != rank {
        return Err(Error::value(format!(
            "{arg} must have {rank} entries (one per spatial dimension), got {}: {values:?}",
            values.len()
        )));
    }
    values
        .iter()
        .map(|&v| {
            if v < min {
                let what = if min == 0 { "non-negative" } else { "positive" };
                Err(Error::value(format!(
                    "{arg} must be {what} in every dimension, got {values:?}"
                )))
            } else {
                usize::try_from(v).map_err(|_| Error::overflow(arg))
            }
        })
        .collect()
}

/// Places `rank` values in the trailing slots of a 3-array, filling with `fill`.
fn lift(values: &[usize], fill: usize) -> [usize; 3] {
    let mut out = [fill; 3];
    let offset = 3 - values.len();
    out[offset..].copy_from_slice(values);
    out
}

fn positive_i64(v: i64, arg: &str) -> Result<usize> {
    if v < 1 {
        return Err(Error::value(format!(
            "{arg} must be a positive int, got {v}"
        )));
    }
    usize::try_from(v).map_err(|_| Error::overflow(arg))
}

/// The dilated kernel extent D(K − 1) + 1, checked.
fn extent(kernel: usize, dilation: usize, arg: &str) -> Result<usize> {
    kernel
        .checked_sub(1)
        .and_then(|k| k.checked_mul(dilation))
        .and_then(|e| e.checked_add(1))
        .ok_or_else(|| Error::overflow(arg))
}

/// The forward output size O = ⌊(H + P_before + P_after − D(K − 1) − 1)/S⌋ + 1,
/// or `None` when the dilated kernel does not fit in the padded input.
pub fn output_size(
    input: usize,
    kernel: usize,
    stride: usize,
    pad_before: usize,
    pad_after: usize,
    dilation: usize,
) -> Result<Option<usize>> {
    let padded = input
        .checked_add(pad_before)
        .and_then(|v| v.checked_add(pad_after))
        .ok_or_else(|| Error::overflow("the padded input size"))?;
    let span = extent(kernel, dilation, "the dilated kernel size")?;
    Ok(padded.checked_sub(span).map(|room| room / stride + 1))
}

/// The transposed output size (H − 1)S − P_before − P_after + D(K − 1) +
/// output_padding + 1, or `None` when it is not positive.
pub fn transposed_output_size(
    input: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    output_padding: usize,
    dilation: usize,
) -> Result<Option<usize>> {
    let grown = input
        .checked_sub(1)
        .and_then(|h| h.checked_mul(stride))
        .and_then(|v| v.checked_add(extent(kernel, dilation, "the dilated kernel size").ok()?))
        .and_then(|v| v.checked_add(output_padding))
        .ok_or_else(|| Error::overflow("the transposed convolution's output size"))?;
    let both = padding
        .checked_mul(2)
        .ok_or_else(|| Error::overflow("padding"))?;
    Ok(grown.checked_sub(both).filter(|&v| v > 0))
}

/// Resolves the padding argument into (before, after) per dimension, given
/// the kernel and dilation (needed by `'same'`).
pub fn resolve_padding(
    padding: &Padding,
    rank: usize,
    kernel: &[usize],
    stride: &[usize],
    dilation: &[usize],
) -> Result<(Vec<usize>, Vec<usize>)> {
    match padding {
        Padding::Explicit(p) => {
            let p = per_dim(p, rank, "padding", 0)?;
            Ok((p.clone(), p))
        }
        Padding::Valid => Ok((vec![0; rank], vec![0; rank])),
        Padding::Same => {
            if stride.iter().any(|&s| s != 1) {
                return Err(Error::value(format!(
                    "padding='same' is not supported for strided convolutions (stride={stride:?}); use stride 1 or explicit padding"
                )));
            }
            let mut before = Vec::with_capacity(rank);
            let mut after = Vec::with_capacity(rank);
            for (&k, &d) in kernel.iter().zip(dilation) {
                let total = extent(k, d, "the dilated kernel size")? - 1;
                before.push(total / 2);
                after.push(total - total / 2);
            }
            Ok((before, after))
        }
    }
}

/// `conv_output_shape`: the forward output size per spatial dimension of
/// an input of spatial shape `input` and a kernel of shape `kernel`.
pub fn conv_output_shape(
    input: &[i64],
    kernel: &[i64],
    stride: &[i64],
    padding: &Padding,
    dilation: &[i64],
) -> Result<Vec<usize>> {
    let rank = input.len();
    if rank == 0 {
        return Err(Error::value(
            "input_shape must have at least one spatial dimension, got ()",
        ));
    }
    let input = per_dim(input, rank, "input_shape", 1)?;
    let kernel = per_dim(kernel, rank, "kernel_size", 1)?;
    let stride = per_dim(stride, rank, "stride", 1)?;
    let dilation = per_dim(dilation, rank, "dilation", 1)?;
    let (before, after) = resolve_padding(padding, rank, &kernel, &stride, &dilation)?;
    (0..rank)
        .map(|i| {
            output_size(input[i], kernel[i], stride[i], before[i], after[i], dilation[i])?.ok_or_else(|| {
                Error::value(format!(
                    "kernel_size {kernel:?} with dilation {dilation:?} is larger than the padded input (input_shape {input:?}, padding {before:?} before and {after:?} after) in dimension {i}"
                ))
            })
        })
        .collect()
}

/// The parts every constructor shares: channels, groups, kernel.
struct Channels {
    batch: usize,
    batched: bool,
    in_channels: usize,
    out_channels: usize,
    groups: usize,
    in_spatial: Vec<usize>,
    kernel: Vec<usize>,
}

/// Splits an input shape into (batch, channels, spatial), accepting the
/// unbatched form (C, *spatial).
fn split_input(
    shape: &[usize],
    rank: usize,
    arg: &str,
) -> Result<(usize, bool, usize, Vec<usize>)> {
    if shape.len() == rank + 2 {
        Ok((shape[0], true, shape[1], shape[2..].to_vec()))
    } else if shape.len() == rank + 1 {
        Ok((1, false, shape[0], shape[1..].to_vec()))
    } else {
        Err(Error::value(format!(
            "{arg} must be {}-D (batched, N × C × spatial) or {}-D (unbatched) for {}, got shape {shape:?}",
            rank + 2,
            rank + 1,
            name_of(rank)
        )))
    }
}

/// Checks the weight against the input channels and groups. `weight` is
/// (C_out, C_in / groups, *kernel); `what` is the weight's argument name.
fn check_channels(
    rank: usize,
    input_shape: &[usize],
    input_arg: &str,
    weight: &[usize],
    weight_arg: &str,
    groups: i64,
) -> Result<Channels> {
    let (batch, batched, in_channels, in_spatial) = split_input(input_shape, rank, input_arg)?;
    if weight.len() != rank + 2 {
        return Err(Error::value(format!(
            "{weight_arg} must be {}-D (out_channels × in_channels/groups × kernel) for {}, got shape {weight:?}",
            rank + 2,
            name_of(rank)
        )));
    }
    let groups = positive_i64(groups, "groups")?;
    let out_channels = weight[0];
    let per_group = weight[1];
    let kernel = weight[2..].to_vec();
    if in_channels == 0 {
        return Err(Error::value(format!(
            "{input_arg} must have at least one channel, got shape {input_shape:?}"
        )));
    }
    if !in_channels.is_multiple_of(groups) {
        return Err(Error::value(format!(
            "groups={groups} must divide the input channels, got {in_channels} channels ({input_arg} shape {input_shape:?})"
        )));
    }
    if !out_channels.is_multiple_of(groups) {
        return Err(Error::value(format!(
            "groups={groups} must divide the output channels, got {out_channels} ({weight_arg} shape {weight:?})"
        )));
    }
    if per_group.checked_mul(groups) != Some(in_channels) {
        return Err(Error::value(format!(
            "{weight_arg} of shape {weight:?} expects {per_group} × groups={groups} input channels, but {input_arg} of shape {input_shape:?} has {in_channels}"
        )));
    }
    if kernel.contains(&0) {
        return Err(Error::value(format!(
            "{weight_arg} must have a kernel of at least 1 in every dimension, got shape {weight:?}"
        )));
    }
    if in_spatial.contains(&0) {
        return Err(Error::value(format!(
            "{input_arg} must have a non-zero size in every spatial dimension, got shape {input_shape:?}"
        )));
    }
    Ok(Channels {
        batch,
        batched,
        in_channels,
        out_channels,
        groups,
        in_spatial,
        kernel,
    })
}

/// torch's limits on a non-zero `padding_mode`: reflect needs a pad smaller
/// than the axis, circular at most the axis (it may wrap only once).
fn check_padding_mode(
    boundary: Boundary,
    before: &[usize],
    after: &[usize],
    in_spatial: &[usize],
) -> Result<()> {
    for ((&b, &a), &len) in before.iter().zip(after).zip(in_spatial) {
        let pad = b.max(a);
        match boundary {
            Boundary::Reflect if pad >= len => {
                return Err(Error::value(format!(
                    "padding_mode='reflect' needs each padding smaller than the input's size in that dimension, got padding {pad} for size {len}"
                )));
            }
            Boundary::Wrap if pad > len => {
                return Err(Error::value(format!(
                    "padding_mode='circular' needs each padding at most the input's size in that dimension (it may wrap around only once), got padding {pad} for size {len}"
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

impl ConvGeometry {
    /// A forward convolution (`conv1d/2d/3d`). Returns the geometry and
    /// whether the input was batched.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        rank: usize,
        input_shape: &[usize],
        weight_shape: &[usize],
        stride: &[i64],
        padding: &Padding,
        dilation: &[i64],
        groups: i64,
        boundary: Boundary,
    ) -> Result<(Self, bool)> {
        Self::build(
            rank,
            (input_shape, "input"),
            (weight_shape, "weight"),
            stride,
            padding,
            dilation,
            groups,
            boundary,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        rank: usize,
        (input_shape, input_arg): (&[usize], &str),
        (weight_shape, weight_arg): (&[usize], &str),
        stride: &[i64],
        padding: &Padding,
        dilation: &[i64],
        groups: i64,
        boundary: Boundary,
    ) -> Result<(Self, bool)> {
        let ch = check_channels(
            rank,
            input_shape,
            input_arg,
            weight_shape,
            weight_arg,
            groups,
        )?;
        let stride = per_dim(stride, rank, "stride", 1)?;
        let dilation = per_dim(dilation, rank, "dilation", 1)?;
        let (before, after) = resolve_padding(padding, rank, &ch.kernel, &stride, &dilation)?;
        if boundary != Boundary::Constant {
            check_padding_mode(boundary, &before, &after, &ch.in_spatial)?;
        }
        let mut out = Vec::with_capacity(rank);
        for i in 0..rank {
            let o = output_size(
                ch.in_spatial[i],
                ch.kernel[i],
                stride[i],
                before[i],
                after[i],
                dilation[i],
            )?
            .ok_or_else(|| {
                Error::value(format!(
                    "the kernel of {weight_arg} (size {:?}, dilation {dilation:?}) is larger than the padded {input_arg} (spatial size {:?}, padding {before:?} before and {after:?} after) in spatial dimension {i}",
                    ch.kernel, ch.in_spatial
                ))
            })?;
            out.push(o);
        }
        let geometry = ConvGeometry {
            rank,
            batch: ch.batch,
            in_channels: ch.in_channels,
            out_channels: ch.out_channels,
            groups: ch.groups,
            in_size: lift(&ch.in_spatial, 1),
            kernel: lift(&ch.kernel, 1),
            out_size: lift(&out, 1),
            stride: lift(&stride, 1),
            dilation: lift(&dilation, 1),
            pad_before: lift(&before, 0),
            boundary,
        };
        geometry.check_sizes()?;
        Ok((geometry, ch.batched))
    }

    /// A convolution whose output is given (`grad_output` of the backward
    /// functions): the forward formula on the input must give exactly the
    /// output's shape. `input_shape` and `output_shape` include batch and
    /// channels; the output's channels must match the weight.
    #[allow(clippy::too_many_arguments)]
    pub fn with_output(
        rank: usize,
        input_shape: &[usize],
        input_arg: &str,
        weight_shape: &[usize],
        weight_arg: &str,
        output_shape: &[usize],
        stride: &[i64],
        padding: &[i64],
        dilation: &[i64],
        groups: i64,
    ) -> Result<(Self, bool)> {
        let (geometry, batched) = Self::build(
            rank,
            (input_shape, input_arg),
            (weight_shape, weight_arg),
            stride,
            &Padding::Explicit(padding.to_vec()),
            dilation,
            groups,
            Boundary::Constant,
        )?;
        let mut expected = Vec::with_capacity(rank + 2);
        if batched {
            expected.push(geometry.batch);
        }
        expected.push(geometry.out_channels);
        expected.extend_from_slice(&geometry.out_size[3 - rank..]);
        if output_shape != expected.as_slice() {
            return Err(Error::value(format!(
                "grad_output has shape {output_shape:?}, but {input_arg} of shape {input_shape:?} with {weight_arg} of shape {weight_shape:?}, stride {stride:?}, padding {padding:?} and dilation {dilation:?} gives an output of shape {expected:?}"
            )));
        }
        Ok((geometry, batched))
    }

    /// A transposed convolution (`conv_transpose1d/2d/3d`): the adjoint of
    /// the forward convolution whose output is `input` here. The weight is
    /// (C_in, C_out / groups, *kernel), which is the forward weight of that
    /// convolution. Its `in_size` is the transposed output's size.
    #[allow(clippy::too_many_arguments)]
    pub fn transposed(
        rank: usize,
        input_shape: &[usize],
        weight_shape: &[usize],
        stride: &[i64],
        padding: &[i64],
        output_padding: &[i64],
        groups: i64,
        dilation: &[i64],
    ) -> Result<(Self, bool)> {
        let (batch, batched, channels, spatial) = split_input(input_shape, rank, "input")?;
        if weight_shape.len() != rank + 2 {
            return Err(Error::value(format!(
                "weight must be {}-D (in_channels × out_channels/groups × kernel) for conv_transpose{rank}d, got shape {weight_shape:?}",
                rank + 2
            )));
        }
        let groups = positive_i64(groups, "groups")?;
        if channels == 0 || spatial.contains(&0) {
            return Err(Error::value(format!(
                "input must have at least one channel and a non-zero size in every spatial dimension, got shape {input_shape:?}"
            )));
        }
        if weight_shape[0] != channels {
            return Err(Error::value(format!(
                "weight of shape {weight_shape:?} expects {} input channels, but input of shape {input_shape:?} has {channels}",
                weight_shape[0]
            )));
        }
        if !channels.is_multiple_of(groups) {
            return Err(Error::value(format!(
                "groups={groups} must divide the input channels, got {channels} channels (input shape {input_shape:?})"
            )));
        }
        let kernel = weight_shape[2..].to_vec();
        if kernel.contains(&0) {
            return Err(Error::value(format!(
                "weight must have a kernel of at least 1 in every dimension, got shape {weight_shape:?}"
            )));
        }
        let out_channels = weight_shape[1]
            .checked_mul(groups)
            .ok_or_else(|| Error::overflow("the output channels"))?;
        let stride = per_dim(stride, rank, "stride", 1)?;
        let dilation = per_dim(dilation, rank, "dilation", 1)?;
        let pad = per_dim(padding, rank, "padding", 0)?;
        let output_padding = per_dim(output_padding, rank, "output_padding", 0)?;
        let mut out = Vec::with_capacity(rank);
        for i in 0..rank {
            if output_padding[i] >= stride[i].max(dilation[i]) {
                return Err(Error::value(format!(
                    "output_padding must be smaller than either stride or dilation in every dimension, got output_padding {output_padding:?}, stride {stride:?}, dilation {dilation:?}"
                )));
            }
            let o = transposed_output_size(
                spatial[i],
                kernel[i],
                stride[i],
                pad[i],
                output_padding[i],
                dilation[i],
            )?
            .ok_or_else(|| {
                Error::value(format!(
                    "the transposed convolution's output would be empty: input size {spatial:?}, kernel {kernel:?}, stride {stride:?}, padding {pad:?}, output_padding {output_padding:?}, dilation {dilation:?}"
                ))
            })?;
            out.push(o);
        }
        let geometry = ConvGeometry {
            rank,
            batch,
            in_channels: out_channels,
            out_channels: channels,
            groups,
            in_size: lift(&out, 1),
            kernel: lift(&kernel, 1),
            out_size: lift(&spatial, 1),
            stride: lift(&stride, 1),
            dilation: lift(&dilation, 1),
            pad_before: lift(&pad, 0),
            boundary: Boundary::Constant,
        };
        geometry.check_sizes()?;
        Ok((geometry, batched))
    }

    /// Every buffer size must fit in memory arithmetic (and NumPy's isize).
    fn check_sizes(&self) -> Result<()> {
        let limit = isize::MAX as usize / 8;
        for (dims, what) in [
            (
                vec![self.batch, self.in_channels, self.in_volume()?],
                "the input",
            ),
            (
                vec![self.batch, self.out_channels, self.out_volume()?],
                "the output",
            ),
            (vec![self.out_channels, self.col_rows()?], "the weight"),
        ] {
            let n = crate::buffer::checked_product(&dims, what)?;
            if n > limit {
                return Err(Error::overflow(what));
            }
        }
        Ok(())
    }

    /// D·H·W of the input.
    pub fn in_volume(&self) -> Result<usize> {
        crate::buffer::checked_product(&self.in_size, "the input")
    }

    /// D·H·W of the output.
    pub fn out_volume(&self) -> Result<usize> {
        crate::buffer::checked_product(&self.out_size, "the output")
    }

    /// Kernel volume.
    pub fn kernel_volume(&self) -> usize {
        self.kernel.iter().product()
    }

    /// Input channels per group.
    pub fn in_per_group(&self) -> usize {
        self.in_channels / self.groups
    }

    /// Output channels per group.
    pub fn out_per_group(&self) -> usize {
        self.out_channels / self.groups
    }

    /// Rows of the im2col matrix: in_per_group × kernel volume.
    pub fn col_rows(&self) -> Result<usize> {
        self.in_per_group()
            .checked_mul(self.kernel_volume())
            .ok_or_else(|| Error::overflow("the weight"))
    }

    /// The user-facing spatial output shape (rank entries).
    pub fn out_spatial(&self) -> &[usize] {
        &self.out_size[3 - self.rank..]
    }

    /// The user-facing spatial input shape (rank entries).
    pub fn in_spatial(&self) -> &[usize] {
        &self.in_size[3 - self.rank..]
    }

    /// A 1×1 convolution with stride 1 and no padding, where the output
    /// plane is the input plane: out_n = W × X_n, no im2col needed.
    pub fn is_pointwise(&self) -> bool {
        self.kernel == [1; 3]
            && self.stride == [1; 3]
            && self.pad_before == [0; 3]
            && self.in_size == self.out_size
    }

    /// Multiply-adds of the forward pass (for thread decisions).
    pub fn macs(&self) -> usize {
        let per = self
            .out_volume()
            .unwrap_or(usize::MAX)
            .saturating_mul(self.col_rows().unwrap_or(usize::MAX));
        per.saturating_mul(self.out_channels)
            .saturating_mul(self.batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fwd(input: &[usize], weight: &[usize], s: i64, p: Padding, d: i64) -> Result<ConvGeometry> {
        let rank = weight.len() - 2;
        ConvGeometry::forward(
            rank,
            input,
            weight,
            &vec![s; rank],
            &p,
            &vec![d; rank],
            1,
            Boundary::Constant,
        )
        .map(|g| g.0)
    }

    #[test]
    fn output_size_formula() {
        let g = fwd(
            &[2, 3, 10, 11],
            &[4, 3, 3, 2],
            2,
            Padding::Explicit(vec![1, 1]),
            2,
        )
        .unwrap();
        // (10 + 2 - 2*2 - 1)/2 + 1 = 4, (11 + 2 - 2 - 1)/2 + 1 = 6
        assert_eq!(g.out_spatial(), &[4, 6]);
        assert_eq!(g.out_size, [1, 4, 6]);
    }

    #[test]
    fn same_padding_is_asymmetric_for_even_kernels() {
        let g = fwd(&[1, 1, 8], &[1, 1, 4], 1, Padding::Same, 1).unwrap();
        assert_eq!(g.pad_before, [0, 0, 1]);
        assert_eq!(g.out_spatial(), &[8]);
        assert!(fwd(&[1, 1, 8], &[1, 1, 4], 2, Padding::Same, 1).is_err());
    }

    #[test]
    fn errors_name_arguments() {
        let e = fwd(&[1, 2, 3], &[1, 1, 5], 1, Padding::Valid, 1).unwrap_err();
        assert!(e.to_string().contains("weight of shape"));
        let e = fwd(&[1, 1, 3], &[1, 1, 5], 1, Padding::Valid, 1).unwrap_err();
        assert!(e.to_string().contains("larger than the padded input"));
        let e = fwd(&[1, 1, 3], &[1, 1, 1], 0, Padding::Valid, 1).unwrap_err();
        assert!(e.to_string().contains("stride"));
        let e = fwd(
            &[1, 1, 3],
            &[1, 1, 1],
            1,
            Padding::Explicit(vec![i64::MAX]),
            1,
        )
        .unwrap_err();
        assert!(e.to_string().contains("too large"));
    }

    #[test]
    fn transposed_is_adjoint_geometry() {
        let (g, _) = ConvGeometry::transposed(
            2,
            &[1, 4, 5, 6],
            &[4, 3, 3, 3],
            &[2, 2],
            &[1, 1],
            &[1, 0],
            1,
            &[1, 1],
        )
        .unwrap();
        // (5-1)*2 - 2 + 2 + 1 + 1 = 10, (6-1)*2 - 2 + 2 + 0 + 1 = 11
        assert_eq!(g.in_spatial(), &[10, 11]);
        assert_eq!(g.out_spatial(), &[5, 6]);
        assert_eq!((g.in_channels, g.out_channels), (3, 4));
        assert!(
            ConvGeometry::transposed(1, &[1, 1, 5], &[1, 1, 3], &[2], &[0], &[2], 1, &[1]).is_err()
        );
    }
}
