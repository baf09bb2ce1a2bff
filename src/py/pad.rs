//! Bindings of the pad family.
//!
//! `pad` moves elements without looking at them, so the wrapper hands it
//! every dtype viewed as the unsigned integer of the same size (complex128
//! and other 16-byte types as complex128): one kernel instance per element
//! size serves every numeric dtype, keeps NaN payloads and byte order as they
//! are, and the wrapper views the result back as the caller's dtype.
//!
//! Results are allocated where every family's are (`buffer::uninit`, with
//! the interpreter lock released): advised for huge pages, since fresh 4 KiB
//! pages cost more to fault in than the padding itself, and large blocks
//! kept for the next call of the same size (see `recycle`).

use crate::buffer::{assume_init, uninit};
use crate::dispatch_dtype;
use crate::error::Result;
use crate::pad::{self, Boundary, PadPlan};
use crate::py::{detach_run_sized, dtype_name, readonly, to_array};
use numpy::{Complex32, Complex64};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

fn pairs(pad_width: &[(u64, u64)]) -> Vec<[u64; 2]> {
    pad_width.iter().map(|&(b, a)| [b, a]).collect()
}

/// `numpy.pad` for modes constant, edge, reflect, symmetric and wrap.
/// `constant_values` is a flat array of `2 * ndim` values of the array's
/// dtype (before and after each axis), or None for zeros.
#[pyfunction]
#[pyo3(signature = (array, pad_width, mode, constant_values=None, workers=None))]
fn _pad<'py>(
    py: Python<'py>,
    array: &Bound<'py, PyAny>,
    pad_width: Vec<(u64, u64)>,
    mode: &str,
    constant_values: Option<&Bound<'py, PyAny>>,
    workers: Option<i64>,
) -> PyResult<Bound<'py, PyAny>> {
    let boundary = Boundary::parse_pad_mode(mode, "mode")?;
    let dtype = dtype_name(array, "array")?;
    dispatch_dtype!(&dtype, "array", [u8, u16, u32, u64, Complex64], |T| {
        let input = readonly::<T>(array, "array")?;
        let view = input.as_array();
        let plan = PadPlan::forward(view.shape(), &pairs(&pad_width), boundary, "array")?;
        let ndim = view.ndim();
        let constants: Vec<[T; 2]> = match constant_values {
            None => vec![[T::default(); 2]; ndim],
            Some(values) => {
                let values = readonly::<T>(values, "constant_values")?;
                let flat: Vec<T> = values.as_array().iter().copied().collect();
                if flat.len() != 2 * ndim {
                    return Err(PyValueError::new_err(format!(
                        "constant_values must hold a (before, after) pair for each of the {ndim} dimensions of array, got {} values",
                        flat.len()
                    )));
                }
                flat.chunks_exact(2).map(|c| [c[0], c[1]]).collect()
            }
        };
        let out = detach_run_sized(py, workers, plan.out_len(), || -> Result<Vec<T>> {
            let mut out = uninit::<T>(plan.out_len())?;
            pad::pad_into(&view, &plan, &constants, &mut out)?;
            // SAFETY: pad_into wrote every element (it returned Ok).
            Ok(unsafe { assume_init(out) })
        })??;
        to_array(py, plan.out_shape(), out)
    })
}

/// The adjoint of `_pad`: the gradient with respect to the unpadded array.
#[pyfunction]
#[pyo3(signature = (grad, pad_width, mode, workers=None))]
fn _pad_backward<'py>(
    py: Python<'py>,
    grad: &Bound<'py, PyAny>,
    pad_width: Vec<(u64, u64)>,
    mode: &str,
    workers: Option<i64>,
) -> PyResult<Bound<'py, PyAny>> {
    let boundary = Boundary::parse_pad_mode(mode, "mode")?;
    let dtype = dtype_name(grad, "grad")?;
    dispatch_dtype!(&dtype, "grad", [f32, f64, Complex32, Complex64], |T| {
        let input = readonly::<T>(grad, "grad")?;
        let view = input.as_array();
        let plan = PadPlan::backward(view.shape(), &pairs(&pad_width), boundary, "grad")?;
        let out = detach_run_sized(py, workers, plan.out_len(), || -> Result<Vec<T>> {
            let mut out = uninit::<T>(plan.in_len())?;
            pad::pad_backward_into(&view, &plan, &mut out)?;
            // SAFETY: pad_backward_into wrote every element (it returned Ok).
            Ok(unsafe { assume_init(out) })
        })??;
        to_array(py, plan.in_shape(), out)
    })
}

/// Adds this family's functions to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_pad, m)?)?;
    m.add_function(wrap_pyfunction!(_pad_backward, m)?)?;
    Ok(())
}
