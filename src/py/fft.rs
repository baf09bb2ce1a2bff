//! Bindings of the fft family.

use pyo3::prelude::*;

/// Adds this family's functions to the extension module.
pub fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
