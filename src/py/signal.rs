//! Bindings of the signal family.
//!
//! The Python wrappers (python/rustconv/_signal.py) own scipy's argument
//! semantics (dtype promotion, swapping inputs in 'valid' mode, conjugating
//! the kernel of a complex correlation); these bindings take arrays of one
//! common dtype, validate the geometry and run the kernels.

use super::{detach_run_sized, dtype_name, readonly};
use crate::dispatch_dtype;
use crate::error::{Error, Result};
use crate::pad::Boundary;
use crate::params::Mode;
use crate::signal::direct::correlate_planes;
use crate::signal::params::{CorrelateParams, SameOrigin};
use crate::signal::plane::{correlate_plane, is_separable};
use crate::signal::rows::RowKernel;
use ndarray::{ArrayD, Axis, Ix2, IxDyn};
use numpy::{Complex32, Complex64, IntoPyArray};
use pyo3::prelude::*;

/// scipy.signal's boundary names (and their aliases) for the 2-D functions.
fn parse_boundary(s: &str) -> Result<Boundary> {
    match s {
        "fill" | "pad" => Ok(Boundary::Constant),
        "wrap" | "circular" => Ok(Boundary::Wrap),
        "symm" | "symmetric" => Ok(Boundary::Symmetric),
        other => Err(Error::value(format!(
            "boundary must be 'fill' (or 'pad'), 'wrap' (or 'circular') or 'symm' (or 'symmetric'), got {other:?}"
        ))),
    }
}

/// One correlation, on the plane engine for one and two dimensions and on
/// the generic N-d path otherwise.
fn correlate_any<T: RowKernel>(
    input: &ndarray::ArrayViewD<'_, T>,
    kernel: &ndarray::ArrayViewD<'_, T>,
    params: &CorrelateParams,
    boundary: Boundary,
    fill: T,
) -> Result<ArrayD<T>> {
    match input.ndim() {
        1 => {
            let x = input
                .view()
                .insert_axis(Axis(0))
                .into_dimensionality::<Ix2>();
            let k = kernel
                .view()
                .insert_axis(Axis(0))
                .into_dimensionality::<Ix2>();
            let (Ok(x), Ok(k)) = (x, k) else {
                return Err(Error::value("internal error: 1-D view reshape"));
            };
            let p = CorrelateParams {
                out_shape: [&[1], params.out_shape.as_slice()].concat(),
                offsets: [&[0], params.offsets.as_slice()].concat(),
                flip: params.flip,
            };
            Ok(correlate_plane(&x, &k, &p, boundary, fill)?
                .into_shape_with_order(IxDyn(&params.out_shape))
                .map_err(|e| Error::value(format!("internal error: {e}")))?)
        }
        2 => {
            let (Ok(x), Ok(k)) = (
                input.view().into_dimensionality::<Ix2>(),
                kernel.view().into_dimensionality::<Ix2>(),
            ) else {
                return Err(Error::value("internal error: 2-D view"));
            };
            Ok(correlate_plane(&x, &k, params, boundary, fill)?.into_dyn())
        }
        _ => correlate_planes(input, kernel, params),
    }
}

#[allow(clippy::too_many_arguments)]
fn run_typed<'py, T: RowKernel + numpy::Element>(
    py: Python<'py>,
    in1: &Bound<'py, PyAny>,
    in2: &Bound<'py, PyAny>,
    mode: Mode,
    same: SameOrigin,
    flip: bool,
    boundary: Boundary,
    fillvalue: Option<&Bound<'py, PyAny>>,
    workers: Option<i64>,
) -> PyResult<Bound<'py, PyAny>> {
    let a = readonly::<T>(in1, "in1")?;
    let b = readonly::<T>(in2, "in2")?;
    let fill = match fillvalue {
        None => T::zero(),
        Some(f) => {
            let f = readonly::<T>(f, "fillvalue")?;
            let value = f.as_array().iter().next().copied();
            value.ok_or_else(|| Error::value("fillvalue must hold exactly one value"))?
        }
    };
    let (x, k) = (a.as_array(), b.as_array());
    let params = CorrelateParams::new(x.shape(), k.shape(), mode, same, flip)?;
    // Multiply-adds of the direct sum: an upper bound for the separable
    // path, and what decides whether splitting across threads pays.
    let work = params.out_len().saturating_mul(k.len());
    let out = detach_run_sized(py, workers, work, || {
        correlate_any(&x, &k, &params, boundary, fill)
    })??;
    Ok(out.into_pyarray(py).into_any())
}

/// `out[i] = Σ_j in1[i − offset + j] · in2[j]` (in2 reversed when `flip`),
/// zeros outside in1, with scipy.signal.correlate's offsets for `mode`.
#[pyfunction]
#[pyo3(signature = (in1, in2, mode, flip, workers=None))]
fn _correlate<'py>(
    py: Python<'py>,
    in1: &Bound<'py, PyAny>,
    in2: &Bound<'py, PyAny>,
    mode: &str,
    flip: bool,
    workers: Option<i64>,
) -> PyResult<Bound<'py, PyAny>> {
    let mode = Mode::parse(mode)?;
    let dtype = dtype_name(in1, "in1")?;
    let dtype2 = dtype_name(in2, "in2")?;
    if dtype != dtype2 {
        return Err(Error::type_error(format!(
            "in1 and in2 must have the same dtype here, got {dtype} and {dtype2}"
        ))
        .into());
    }
    dispatch_dtype!(
        &dtype,
        "in1",
        [
            f32, f64, Complex32, Complex64, i8, i16, i32, i64, u8, u16, u32, u64
        ],
        |T| {
            run_typed::<T>(
                py,
                in1,
                in2,
                mode,
                SameOrigin::Centre,
                flip,
                Boundary::Constant,
                None,
                workers,
            )
        }
    )
}

/// The 2-D correlation of scipy.signal.correlate2d (`flip = false`) and
/// convolve2d (`flip = true`), with its boundary rules; `fillvalue` is a
/// one-element array of the inputs' dtype.
#[pyfunction]
#[pyo3(signature = (in1, in2, mode, flip, boundary, fillvalue, workers=None))]
#[allow(clippy::too_many_arguments)]
fn _correlate2d<'py>(
    py: Python<'py>,
    in1: &Bound<'py, PyAny>,
    in2: &Bound<'py, PyAny>,
    mode: &str,
    flip: bool,
    boundary: &str,
    fillvalue: &Bound<'py, PyAny>,
    workers: Option<i64>,
) -> PyResult<Bound<'py, PyAny>> {
    let mode = Mode::parse(mode)?;
    let boundary = parse_boundary(boundary)?;
    let dtype = dtype_name(in1, "in1")?;
    for (arr, name) in [(in2, "in2"), (fillvalue, "fillvalue")] {
        let other = dtype_name(arr, name)?;
        if other != dtype {
            return Err(Error::type_error(format!(
                "{name} must have the dtype of in1 ({dtype}) here, got {other}"
            ))
            .into());
        }
    }
    let ndims = (
        in1.getattr("ndim")?.extract::<usize>()?,
        in2.getattr("ndim")?.extract::<usize>()?,
    );
    if ndims != (2, 2) {
        return Err(Error::value(format!(
            "in1 and in2 must both be 2-D arrays, got in1.ndim={} and in2.ndim={}",
            ndims.0, ndims.1
        ))
        .into());
    }
    if fillvalue.getattr("size")?.extract::<usize>()? != 1 {
        return Err(Error::value("fillvalue must be a scalar or an array with one element").into());
    }
    // convolve2d's 'same' output is centred like convolve's; correlate2d's
    // sits one to the left for even kernels.
    let same = if flip {
        SameOrigin::Centre
    } else {
        SameOrigin::Left
    };
    dispatch_dtype!(
        &dtype,
        "in1",
        [
            f32, f64, Complex32, Complex64, i8, i16, i32, i64, u8, u16, u32, u64
        ],
        |T| {
            run_typed::<T>(
                py,
                in1,
                in2,
                mode,
                same,
                flip,
                boundary,
                Some(fillvalue),
                workers,
            )
        }
    )
}

/// Whether the 2-D engine correlates with `kernel` on its separable
/// (rank-one) path: float32 or float64 kernels of at least 3 × 3 that are
/// rank one within 8 ε (see `RowKernel::rank_one`); every other kernel is
/// summed directly. The wrappers' cost model asks this.
#[pyfunction]
fn _is_separable(kernel: &Bound<'_, PyAny>) -> PyResult<bool> {
    let dtype = dtype_name(kernel, "kernel")?;
    if kernel.getattr("ndim")?.extract::<usize>()? != 2 {
        return Ok(false);
    }
    fn check<T: RowKernel + numpy::Element>(kernel: &Bound<'_, PyAny>) -> PyResult<bool> {
        let k = readonly::<T>(kernel, "kernel")?;
        let view = k.as_array();
        let Ok(view) = view.into_dimensionality::<Ix2>() else {
            return Ok(false);
        };
        Ok(is_separable(&view))
    }
    match dtype.as_str() {
        "float32" => check::<f32>(kernel),
        "float64" => check::<f64>(kernel),
        _ => Ok(false),
    }
}

/// Adds this family's functions to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_is_separable, m)?)?;
    m.add_function(wrap_pyfunction!(_correlate, m)?)?;
    m.add_function(wrap_pyfunction!(_correlate2d, m)?)?;
    Ok(())
}
