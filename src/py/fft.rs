//! Bindings of the fft family.

use super::{detach_run_sized, dtype_name, readonly};
use crate::dispatch_dtype;
use crate::error::Error;
use crate::fft::{Blocking, FftConvGeometry, convolve};
use crate::params::Mode;
use numpy::{Complex32, Complex64, IntoPyArray};
use pyo3::prelude::*;

/// `fftconvolve` / `oaconvolve` on two arrays of one common dtype (the
/// wrapper casts them). `blocking` is "auto", "blocks" or "single".
#[pyfunction]
#[pyo3(signature = (in1, in2, mode, axes, blocking, workers=None))]
fn _fftconvolve(
    py: Python<'_>,
    in1: &Bound<'_, PyAny>,
    in2: &Bound<'_, PyAny>,
    mode: &str,
    axes: Option<Vec<i64>>,
    blocking: &str,
    workers: Option<i64>,
) -> PyResult<Py<PyAny>> {
    let mode = Mode::parse(mode)?;
    let blocking = match blocking {
        "auto" => Blocking::Auto,
        "blocks" => Blocking::Blocks,
        "single" => Blocking::Single,
        other => {
            return Err(Error::value(format!(
                "blocking must be 'auto', 'blocks' or 'single', got {other:?}"
            ))
            .into());
        }
    };
    let dtype = dtype_name(in1, "in1")?;
    let dtype2 = dtype_name(in2, "in2")?;
    if dtype != dtype2 {
        return Err(Error::type_error(format!(
            "in1 and in2 must share one dtype here (the Python wrapper promotes them), got {dtype} and {dtype2}"
        ))
        .into());
    }
    dispatch_dtype!(&dtype, "in1", [f32, f64, Complex32, Complex64], |T| {
        let a = readonly::<T>(in1, "in1")?;
        let b = readonly::<T>(in2, "in2")?;
        let (av, bv) = (a.as_array(), b.as_array());
        let geometry = FftConvGeometry::new(av.shape(), bv.shape(), axes.as_deref(), mode)?;
        // Elements in and out: a lower bound on the transforms' work, so a
        // job it calls small runs on the calling thread without a pool
        // hand-off (the engine then stays on one thread, see `split`).
        let work = av.len().saturating_add(bv.len()).saturating_add(
            geometry
                .shape
                .iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d))
                .unwrap_or(usize::MAX),
        );
        let out = detach_run_sized(py, workers, work, || convolve(av, bv, &geometry, blocking))??;
        Ok(out.into_pyarray(py).into_any().unbind())
    })
}

/// Adds this family's functions to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_fftconvolve, m)?)?;
    Ok(())
}
