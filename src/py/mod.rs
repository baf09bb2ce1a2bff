//! The binding layer: extract → validate into params → `py.detach(kernel)` →
//! return a new array. Nothing here computes; each family's file only
//! translates between Python objects and the kernel core.

use crate::error::Error;
use crate::{simd, threads};
use pyo3::exceptions::{PyMemoryError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

pub mod conv;
pub mod fft;
pub mod pad;
pub mod pool;
pub mod signal;

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        match e {
            Error::Value(m) => PyValueError::new_err(m),
            Error::Type(m) => PyTypeError::new_err(m),
            Error::Memory(m) => PyMemoryError::new_err(m),
        }
    }
}

/// Runs `f` with the interpreter lock released, on a pool of the size that
/// `workers` asks for. Every kernel call goes through here.
pub fn detach_run<R: Send>(
    py: Python<'_>,
    workers: Option<i64>,
    f: impl FnOnce() -> R + Send,
) -> PyResult<R> {
    let n = threads::resolve(workers)?;
    Ok(py.detach(|| threads::run(n, f))?)
}

/// [`detach_run`] for a kernel converted to [`threads::run_sized`]: a job
/// of about `work` elementary operations that will use one thread anyway
/// runs on the calling thread, without the hand-off to a pool thread. Only
/// for kernels that ask `threads::split` before using Rayon.
pub fn detach_run_sized<R: Send>(
    py: Python<'_>,
    workers: Option<i64>,
    work: usize,
    f: impl FnOnce() -> R + Send,
) -> PyResult<R> {
    let n = threads::resolve(workers)?;
    Ok(py.detach(|| threads::run_sized(n, work, f))?)
}

/// Dispatches on a NumPy dtype name to a generic body. The Python wrappers
/// have already cast every array argument to one common, native-order dtype,
/// so the binding only needs that dtype's name.
///
/// ```ignore
/// dispatch_dtype!(dtype, "convolve", [f32, f64], |T| { body using T })
/// ```
#[macro_export]
macro_rules! dispatch_dtype {
    ($dtype:expr, $arg:expr, [$($t:ty),+ $(,)?], |$T:ident| $body:block) => {{
        let __name: &str = $dtype;
        $(
            if __name == <$t as $crate::py::DtypeName>::NAME {
                type $T = $t;
                $body
            } else
        )+
        {
            let allowed: &[&str] = &[$(<$t as $crate::py::DtypeName>::NAME),+];
            Err($crate::error::Error::type_error(format!(
                "{} has dtype {}, which is not supported; supported dtypes are {}",
                $arg, __name, allowed.join(", ")
            )).into())
        }
    }};
}

/// NumPy's name for each element type the kernels support.
pub trait DtypeName {
    /// `numpy.dtype(...).name` for this type.
    const NAME: &'static str;
}

macro_rules! dtype_names {
    ($($t:ty => $n:literal),* $(,)?) => {$(impl DtypeName for $t { const NAME: &'static str = $n; })*};
}
dtype_names!(
    f32 => "float32", f64 => "float64",
    numpy::Complex32 => "complex64", numpy::Complex64 => "complex128",
    i8 => "int8", i16 => "int16", i32 => "int32", i64 => "int64",
    u8 => "uint8", u16 => "uint16", u32 => "uint32", u64 => "uint64",
    bool => "bool",
);

/// The dtype name (`numpy.dtype.name`) of a NumPy array argument, or a
/// TypeError naming `arg`.
pub fn dtype_name(arr: &Bound<'_, PyAny>, arg: &str) -> PyResult<String> {
    if !arr.is_instance_of::<numpy::PyUntypedArray>() {
        return Err(PyTypeError::new_err(format!(
            "{arg} must be a numpy.ndarray, got {}",
            arr.get_type()
                .name()
                .map_or_else(|_| "an unknown type".into(), |n| n.to_string())
        )));
    }
    use numpy::{PyArrayDescrMethods, PyUntypedArrayMethods};
    // Built from the descriptor's kind and size: `dtype.name` is a Python
    // property that cost ~10 µs per call, a fifth of a small pad call.
    let descr = arr.cast::<numpy::PyUntypedArray>()?.dtype();
    let bits = descr.itemsize() * 8;
    let name = match (descr.kind(), bits) {
        (b'f', 16 | 32 | 64) => format!("float{bits}"),
        (b'i', 8 | 16 | 32 | 64) => format!("int{bits}"),
        (b'u', 8 | 16 | 32 | 64) => format!("uint{bits}"),
        (b'c', 64 | 128) => format!("complex{bits}"),
        (b'b', 8) => "bool".to_owned(),
        // Anything else (long double, datetime, object, strings, ...) is
        // refused by every kernel; numpy's own name goes into the message.
        _ => return arr.getattr("dtype")?.getattr("name")?.extract(),
    };
    Ok(name)
}

/// A read-only view of an array argument whose dtype the caller has already
/// matched to `T` (see [`dispatch_dtype!`]).
pub fn readonly<'py, T: numpy::Element>(
    arr: &Bound<'py, PyAny>,
    arg: &str,
) -> PyResult<numpy::PyReadonlyArrayDyn<'py, T>> {
    use numpy::PyArrayMethods;
    let typed = arr.cast::<numpy::PyArrayDyn<T>>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{arg} must be a native-byte-order numpy.ndarray of the expected dtype"
        ))
    })?;
    Ok(typed.try_readonly()?)
}

#[pyfunction]
fn set_num_threads(n: i64) -> PyResult<()> {
    let n = usize::try_from(n).map_err(|_| {
        PyValueError::new_err(format!(
            "n must be 0 (all cores) or a positive thread count, got {n}"
        ))
    })?;
    threads::set_num_threads(n);
    Ok(())
}

#[pyfunction]
fn get_num_threads() -> usize {
    threads::get_num_threads()
}

/// A new C-contiguous array of `shape` holding `data`.
pub(crate) fn to_array<'py, T: numpy::Element>(
    py: Python<'py>,
    shape: &[usize],
    data: Vec<T>,
) -> PyResult<Bound<'py, PyAny>> {
    let array = ndarray::Array::from_shape_vec(ndarray::IxDyn(shape), data)
        .map_err(|e| crate::error::Error::value(format!("internal shape error: {e}")))?;
    Ok(numpy::IntoPyArray::into_pyarray(array, py).into_any())
}

/// Facts for `rustconv.show_config()`.
#[pyfunction]
fn _config(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("version", env!("CARGO_PKG_VERSION"))?;
    d.set_item("num_threads", threads::get_num_threads())?;
    d.set_item("available_cores", threads::available())?;
    d.set_item("simd", simd::level().name())?;
    d.set_item("recycle_bytes", crate::recycle::limit_bytes())?;
    d.set_item(
        "profile",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    )?;
    Ok(d)
}

/// Adds every binding to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // How much freed output memory to keep for reuse (see `recycle`): read
    // once, here, since the allocator itself must not allocate.
    if let Some(mib) = std::env::var("RUSTCONV_RECYCLE_MIB")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        crate::recycle::set_limit_bytes(mib.saturating_mul(1 << 20));
    }
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(_config, m)?)?;
    signal::register(m)?;
    fft::register(m)?;
    conv::register(m)?;
    pad::register(m)?;
    pool::register(m)?;
    Ok(())
}
