//! Bindings of the conv family: extract, validate into a [`ConvGeometry`],
//! run the kernel with the interpreter lock released, return new arrays.

use crate::buffer::try_collect;
use crate::conv::params::{ConvGeometry, Padding, conv_output_shape};
use crate::conv::{self, Path};
use crate::dispatch_dtype;
use crate::error::Error;
use crate::pad::Boundary;
use crate::py::{detach_run_sized, dtype_name, readonly};
use ndarray::{ArrayD, CowArray, IxDyn};
use numpy::{IntoPyArray, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;

/// The one dtype that every array argument shares, or a TypeError naming
/// them (torch requires input, weight and bias to agree).
fn common_dtype(args: &[(&Bound<'_, PyAny>, &str)]) -> PyResult<String> {
    let mut names = Vec::with_capacity(args.len());
    for (arr, arg) in args {
        names.push((dtype_name(arr, arg)?, *arg));
    }
    let first = names[0].0.clone();
    if names.iter().any(|(n, _)| *n != first) {
        let listed: Vec<String> = names.iter().map(|(n, a)| format!("{a} is {n}")).collect();
        return Err(Error::type_error(format!(
            "{} must share one dtype (float32 or float64), but {}",
            names.iter().map(|(_, a)| *a).collect::<Vec<_>>().join(", "),
            listed.join(", ")
        ))
        .into());
    }
    Ok(first)
}

fn shape_of(arr: &Bound<'_, PyAny>, arg: &str) -> PyResult<Vec<usize>> {
    let untyped = arr
        .cast::<numpy::PyUntypedArray>()
        .map_err(|_| Error::type_error(format!("{arg} must be a numpy.ndarray")))?;
    Ok(untyped.shape().to_vec())
}

/// A C-contiguous view (a copy only when the argument is not contiguous; a
/// MemoryError when that copy cannot be allocated, e.g. for a huge
/// zero-stride broadcast view).
fn contiguous<'a, T: numpy::Element + Clone>(
    arr: &'a PyReadonlyArrayDyn<'_, T>,
) -> PyResult<CowArray<'a, T, IxDyn>> {
    let view = arr.as_array();
    if view.is_standard_layout() {
        Ok(CowArray::from(view))
    } else {
        // Logical (C) order, whatever the strides.
        let data = try_collect(view.len(), view.iter().cloned())?;
        let array = ArrayD::from_shape_vec(view.raw_dim(), data)
            .map_err(|e| Error::value(format!("internal shape error: {e}")))?;
        Ok(CowArray::from(array))
    }
}

fn slice_of<'a, T>(arr: &'a CowArray<'_, T, IxDyn>) -> PyResult<&'a [T]> {
    arr.as_slice().ok_or_else(|| {
        Error::value("internal error: a standard-layout array is not contiguous").into()
    })
}

fn to_sizes(values: &[i64], arg: &str) -> PyResult<Vec<usize>> {
    values
        .iter()
        .map(|&v| {
            usize::try_from(v).map_err(|_| {
                Error::value(format!(
                    "{arg} must contain non-negative sizes, got {values:?}"
                ))
                .into()
            })
        })
        .collect()
}

fn check_bias(bias: Option<&[usize]>, channels: usize) -> PyResult<()> {
    match bias {
        Some(shape) if shape != [channels] => Err(Error::value(format!(
            "bias must have shape ({channels},), one value per output channel, got {shape:?}"
        ))
        .into()),
        _ => Ok(()),
    }
}

fn parse_padding(padding: &Bound<'_, PyAny>) -> PyResult<Padding> {
    if let Ok(s) = padding.extract::<String>() {
        return Ok(Padding::parse(&s)?);
    }
    let values: Vec<i64> = padding.extract().map_err(|_| {
        Error::type_error("padding must be an int, a tuple of ints, 'same' or 'valid'")
    })?;
    Ok(Padding::Explicit(values))
}

/// The shape (batch?, channels, *spatial) of a result.
fn full_shape(batched: bool, batch: usize, channels: usize, spatial: &[usize]) -> Vec<usize> {
    let mut shape = Vec::with_capacity(spatial.len() + 2);
    if batched {
        shape.push(batch);
    }
    shape.push(channels);
    shape.extend_from_slice(spatial);
    shape
}

fn to_numpy<T: numpy::Element>(
    py: Python<'_>,
    data: Vec<T>,
    shape: &[usize],
) -> PyResult<Py<PyAny>> {
    let arr = ArrayD::from_shape_vec(IxDyn(shape), data)
        .map_err(|e| Error::value(format!("internal error: result shape {shape:?}: {e}")))?;
    Ok(arr.into_pyarray(py).into_any().unbind())
}

fn out_len(g: &ConvGeometry) -> PyResult<usize> {
    Ok(crate::buffer::checked_product(
        &[g.batch, g.out_channels, g.out_volume()?],
        "the output",
    )?)
}

fn in_len(g: &ConvGeometry) -> PyResult<usize> {
    Ok(crate::buffer::checked_product(
        &[g.batch, g.in_channels, g.in_volume()?],
        "the input",
    )?)
}

#[allow(clippy::too_many_arguments)]
fn forward_typed<T: crate::element::Real + conv::ZeroBits + numpy::Element>(
    py: Python<'_>,
    g: &ConvGeometry,
    batched: bool,
    input: &Bound<'_, PyAny>,
    weight: &Bound<'_, PyAny>,
    bias: Option<&Bound<'_, PyAny>>,
    workers: Option<i64>,
) -> PyResult<Py<PyAny>> {
    let (x, w) = (
        readonly::<T>(input, "input")?,
        readonly::<T>(weight, "weight")?,
    );
    let b = bias.map(|b| readonly::<T>(b, "bias")).transpose()?;
    let (xc, wc) = (contiguous(&x)?, contiguous(&w)?);
    let bc = b.as_ref().map(contiguous).transpose()?;
    let (xs, ws) = (slice_of(&xc)?, slice_of(&wc)?);
    let bs = bc.as_ref().map(slice_of).transpose()?;
    let len = out_len(g)?;
    // Allocated with the interpreter lock released: zeroed memory that the
    // allocator reuses is a memset as long as the output.
    let out = detach_run_sized(py, workers, conv::work(g.macs()), || {
        let mut out = conv::zeroed::<T>(len)?;
        conv::forward(g, xs, ws, bs, &mut out, Path::Gemm);
        Ok::<_, Error>(out)
    })??;
    to_numpy(
        py,
        out,
        &full_shape(batched, g.batch, g.out_channels, g.out_spatial()),
    )
}

/// conv1d/2d/3d.
#[pyfunction]
#[pyo3(signature = (input, weight, bias, stride, padding, dilation, groups, padding_mode, rank, workers=None))]
#[allow(clippy::too_many_arguments)]
fn _conv(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    weight: &Bound<'_, PyAny>,
    bias: Option<&Bound<'_, PyAny>>,
    stride: Vec<i64>,
    padding: &Bound<'_, PyAny>,
    dilation: Vec<i64>,
    groups: i64,
    padding_mode: &str,
    rank: usize,
    workers: Option<i64>,
) -> PyResult<Py<PyAny>> {
    let mut args = vec![(input, "input"), (weight, "weight")];
    if let Some(b) = bias {
        args.push((b, "bias"));
    }
    let dtype = common_dtype(&args)?;
    let boundary = match padding_mode {
        "zeros" => Boundary::Constant,
        "reflect" => Boundary::Reflect,
        "replicate" => Boundary::Edge,
        "circular" => Boundary::Wrap,
        other => {
            return Err(Error::value(format!(
                "padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', got {other:?}"
            ))
            .into());
        }
    };
    let padding = parse_padding(padding)?;
    let (g, batched) = ConvGeometry::forward(
        rank,
        &shape_of(input, "input")?,
        &shape_of(weight, "weight")?,
        &stride,
        &padding,
        &dilation,
        groups,
        boundary,
    )?;
    check_bias(
        bias.map(|b| shape_of(b, "bias")).transpose()?.as_deref(),
        g.out_channels,
    )?;
    dispatch_dtype!(dtype.as_str(), "input", [f32, f64], |T| {
        forward_typed::<T>(py, &g, batched, input, weight, bias, workers)
    })
}

/// conv_transpose1d/2d/3d.
#[pyfunction]
#[pyo3(signature = (input, weight, bias, stride, padding, output_padding, groups, dilation, rank, workers=None))]
#[allow(clippy::too_many_arguments)]
fn _conv_transpose(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    weight: &Bound<'_, PyAny>,
    bias: Option<&Bound<'_, PyAny>>,
    stride: Vec<i64>,
    padding: Vec<i64>,
    output_padding: Vec<i64>,
    groups: i64,
    dilation: Vec<i64>,
    rank: usize,
    workers: Option<i64>,
) -> PyResult<Py<PyAny>> {
    let mut args = vec![(input, "input"), (weight, "weight")];
    if let Some(b) = bias {
        args.push((b, "bias"));
    }
    let dtype = common_dtype(&args)?;
    let (g, batched) = ConvGeometry::transposed(
        rank,
        &shape_of(input, "input")?,
        &shape_of(weight, "weight")?,
        &stride,
        &padding,
        &output_padding,
        groups,
        &dilation,
    )?;
    check_bias(
        bias.map(|b| shape_of(b, "bias")).transpose()?.as_deref(),
        g.in_channels,
    )?;
    dispatch_dtype!(dtype.as_str(), "input", [f32, f64], |T| {
        let (x, w) = (
            readonly::<T>(input, "input")?,
            readonly::<T>(weight, "weight")?,
        );
        let b = bias.map(|b| readonly::<T>(b, "bias")).transpose()?;
        let (xc, wc) = (contiguous(&x)?, contiguous(&w)?);
        let bc = b.as_ref().map(contiguous).transpose()?;
        let (xs, ws) = (slice_of(&xc)?, slice_of(&wc)?);
        let bs = bc.as_ref().map(slice_of).transpose()?;
        let len = in_len(&g)?;
        let out = detach_run_sized(py, workers, conv::work(g.macs()), || {
            let mut out = conv::zeroed::<T>(len)?;
            conv::transposed(&g, xs, ws, bs, &mut out, Path::Gemm);
            Ok::<_, Error>(out)
        })??;
        to_numpy(
            py,
            out,
            &full_shape(batched, g.batch, g.in_channels, g.in_spatial()),
        )
    })
}

/// conv1d_input/2d/3d (torch.nn.grad argument order).
#[pyfunction]
#[pyo3(signature = (input_size, weight, grad_output, stride, padding, dilation, groups, rank, workers=None))]
#[allow(clippy::too_many_arguments)]
fn _conv_input(
    py: Python<'_>,
    input_size: Vec<i64>,
    weight: &Bound<'_, PyAny>,
    grad_output: &Bound<'_, PyAny>,
    stride: Vec<i64>,
    padding: Vec<i64>,
    dilation: Vec<i64>,
    groups: i64,
    rank: usize,
    workers: Option<i64>,
) -> PyResult<Py<PyAny>> {
    let dtype = common_dtype(&[(weight, "weight"), (grad_output, "grad_output")])?;
    let input_shape = to_sizes(&input_size, "input_size")?;
    let (g, batched) = ConvGeometry::with_output(
        rank,
        &input_shape,
        "input_size",
        &shape_of(weight, "weight")?,
        "weight",
        &shape_of(grad_output, "grad_output")?,
        &stride,
        &padding,
        &dilation,
        groups,
    )?;
    dispatch_dtype!(dtype.as_str(), "weight", [f32, f64], |T| {
        let (w, dy) = (
            readonly::<T>(weight, "weight")?,
            readonly::<T>(grad_output, "grad_output")?,
        );
        let (wc, dyc) = (contiguous(&w)?, contiguous(&dy)?);
        let (ws, dys) = (slice_of(&wc)?, slice_of(&dyc)?);
        let len = in_len(&g)?;
        let out = detach_run_sized(py, workers, conv::work(g.macs()), || {
            let mut out = conv::zeroed::<T>(len)?;
            conv::input_grad(&g, ws, dys, &mut out, Path::Gemm);
            Ok::<_, Error>(out)
        })??;
        to_numpy(
            py,
            out,
            &full_shape(batched, g.batch, g.in_channels, g.in_spatial()),
        )
    })
}

/// conv1d_weight/2d/3d (torch.nn.grad argument order).
#[pyfunction]
#[pyo3(signature = (input, weight_size, grad_output, stride, padding, dilation, groups, rank, workers=None))]
#[allow(clippy::too_many_arguments)]
fn _conv_weight(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    weight_size: Vec<i64>,
    grad_output: &Bound<'_, PyAny>,
    stride: Vec<i64>,
    padding: Vec<i64>,
    dilation: Vec<i64>,
    groups: i64,
    rank: usize,
    workers: Option<i64>,
) -> PyResult<Py<PyAny>> {
    let dtype = common_dtype(&[(input, "input"), (grad_output, "grad_output")])?;
    let weight_shape = to_sizes(&weight_size, "weight_size")?;
    let (g, _) = ConvGeometry::with_output(
        rank,
        &shape_of(input, "input")?,
        "input",
        &weight_shape,
        "weight_size",
        &shape_of(grad_output, "grad_output")?,
        &stride,
        &padding,
        &dilation,
        groups,
    )?;
    dispatch_dtype!(dtype.as_str(), "input", [f32, f64], |T| {
        let (x, dy) = (
            readonly::<T>(input, "input")?,
            readonly::<T>(grad_output, "grad_output")?,
        );
        let (xc, dyc) = (contiguous(&x)?, contiguous(&dy)?);
        let (xs, dys) = (slice_of(&xc)?, slice_of(&dyc)?);
        let len = crate::buffer::checked_product(&weight_shape, "weight_size")?;
        let out = detach_run_sized(py, workers, conv::work(g.macs()), || {
            let mut out = conv::zeroed::<T>(len)?;
            conv::weight_grad(&g, xs, dys, &mut out, Path::Gemm)?;
            Ok::<_, Error>(out)
        })??;
        to_numpy(py, out, &weight_shape)
    })
}

/// conv1d_backward/2d/3d: (grad_input, grad_weight, grad_bias).
#[pyfunction]
#[pyo3(signature = (grad_output, input, weight, stride, padding, dilation, groups, rank, workers=None))]
#[allow(clippy::too_many_arguments)]
fn _conv_backward(
    py: Python<'_>,
    grad_output: &Bound<'_, PyAny>,
    input: &Bound<'_, PyAny>,
    weight: &Bound<'_, PyAny>,
    stride: Vec<i64>,
    padding: Vec<i64>,
    dilation: Vec<i64>,
    groups: i64,
    rank: usize,
    workers: Option<i64>,
) -> PyResult<(Py<PyAny>, Py<PyAny>, Py<PyAny>)> {
    let dtype = common_dtype(&[
        (grad_output, "grad_output"),
        (input, "input"),
        (weight, "weight"),
    ])?;
    let input_shape = shape_of(input, "input")?;
    let weight_shape = shape_of(weight, "weight")?;
    let (g, _) = ConvGeometry::with_output(
        rank,
        &input_shape,
        "input",
        &weight_shape,
        "weight",
        &shape_of(grad_output, "grad_output")?,
        &stride,
        &padding,
        &dilation,
        groups,
    )?;
    dispatch_dtype!(dtype.as_str(), "input", [f32, f64], |T| {
        let x = readonly::<T>(input, "input")?;
        let w = readonly::<T>(weight, "weight")?;
        let dy = readonly::<T>(grad_output, "grad_output")?;
        let (xc, wc, dyc) = (contiguous(&x)?, contiguous(&w)?, contiguous(&dy)?);
        let (xs, ws, dys) = (slice_of(&xc)?, slice_of(&wc)?, slice_of(&dyc)?);
        let len = in_len(&g)?;
        let work = conv::work(g.macs().saturating_mul(2));
        let (dx, dw, db) = detach_run_sized(py, workers, work, || {
            let mut dx = conv::zeroed::<T>(len)?;
            let mut dw = conv::zeroed::<T>(ws.len())?;
            let mut db = conv::zeroed::<T>(g.out_channels)?;
            conv::backward(&g, xs, ws, dys, &mut dx, &mut dw, &mut db, Path::Gemm)?;
            Ok::<_, Error>((dx, dw, db))
        })??;
        Ok((
            to_numpy(py, dx, &input_shape)?,
            to_numpy(py, dw, &weight_shape)?,
            to_numpy(py, db, &[g.out_channels])?,
        ))
    })
}

/// conv_output_shape.
#[pyfunction]
#[pyo3(signature = (input_shape, kernel_size, stride, padding, dilation))]
fn _conv_output_shape(
    input_shape: Vec<i64>,
    kernel_size: Vec<i64>,
    stride: Vec<i64>,
    padding: &Bound<'_, PyAny>,
    dilation: Vec<i64>,
) -> PyResult<Vec<usize>> {
    let padding = parse_padding(padding)?;
    Ok(conv_output_shape(
        &input_shape,
        &kernel_size,
        &stride,
        &padding,
        &dilation,
    )?)
}

/// Adds this family's functions to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_conv, m)?)?;
    m.add_function(wrap_pyfunction!(_conv_transpose, m)?)?;
    m.add_function(wrap_pyfunction!(_conv_input, m)?)?;
    m.add_function(wrap_pyfunction!(_conv_weight, m)?)?;
    m.add_function(wrap_pyfunction!(_conv_backward, m)?)?;
    m.add_function(wrap_pyfunction!(_conv_output_shape, m)?)?;
    Ok(())
}
