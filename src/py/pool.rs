//! Bindings of the pool family: extract, validate into a geometry, run the
//! kernel with the interpreter lock released, return new arrays.

use crate::buffer::{assume_init, try_collect, uninit};
use crate::dispatch_dtype;
use crate::error::{Error, Result};
use crate::pool::params::fmt_tuple;
use crate::pool::{self, AdaptiveGeometry, LpNorm, PlaneShape, PoolGeometry};
use crate::py::{detach_run_sized, dtype_name, readonly, to_array};
use numpy::{PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use std::mem::MaybeUninit;

type Out<'py> = Bound<'py, PyAny>;

/// Runs `f` on the array's elements in C order (copying only when the array
/// is not already C-contiguous).
fn with_contiguous<T: numpy::Element + Clone, R>(
    arr: &PyReadonlyArrayDyn<'_, T>,
    f: impl FnOnce(&[T]) -> PyResult<R>,
) -> PyResult<R> {
    let view = arr.as_array();
    if let Some(slice) = view.as_slice() {
        return f(slice);
    }
    // A fallible copy: a huge zero-stride broadcast view must raise a
    // MemoryError, not abort the process.
    let data = try_collect(view.len(), view.iter().cloned())?;
    f(&data)
}

/// Runs a max-pool kernel (fixed or adaptive) with the interpreter lock
/// released, allocating the values and, when asked for, the indices.
///
/// # Safety
/// `kernel` writes every element of the outputs it is given, as
/// `pool::max_pool` and `pool::adaptive_max_pool` do.
unsafe fn run_max<'py, T: numpy::Element + Clone + Send + Sync>(
    py: Python<'py>,
    workers: Option<i64>,
    arr: &PyReadonlyArrayDyn<'_, T>,
    out_shape: &[usize],
    return_indices: bool,
    work: usize,
    kernel: impl Fn(&[T], &mut [MaybeUninit<T>], Option<&mut [MaybeUninit<i64>]>) + Sync,
) -> PyResult<(Out<'py>, Option<Out<'py>>)> {
    let len = out_shape.iter().product();
    let (values, indices) = with_contiguous(arr, |src| {
        Ok(detach_run_sized(py, workers, work, || -> Result<_> {
            let mut values = uninit::<T>(len)?;
            let mut indices = if return_indices {
                Some(uninit::<i64>(len)?)
            } else {
                None
            };
            kernel(src, &mut values, indices.as_deref_mut());
            // SAFETY: the kernel has written every element (the caller's
            // contract).
            Ok(unsafe { (assume_init(values), indices.map(|i| assume_init(i))) })
        })??)
    })?;
    let indices = indices.map(|i| to_array(py, out_shape, i)).transpose()?;
    Ok((to_array(py, out_shape, values)?, indices))
}

fn sizes(shape: &[i64], arg: &str) -> Result<Vec<usize>> {
    shape
        .iter()
        .map(|&d| usize::try_from(d).ok())
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            Error::value(format!(
                "{arg} must contain non-negative sizes, got {}",
                fmt_tuple(shape)
            ))
        })
}

fn positive_divisor(divisor_override: Option<i64>) -> Result<Option<usize>> {
    divisor_override
        .map(|d| {
            usize::try_from(d).ok().filter(|&d| d > 0).ok_or_else(|| {
                Error::value(format!(
                    "divisor_override must be a positive integer or None, got {d}"
                ))
            })
        })
        .transpose()
}

/// Checks that `arr` has exactly `expected` as its shape.
fn expect_shape(actual: &[usize], expected: &[usize], arg: &str, func: &str) -> Result<()> {
    if actual == expected {
        Ok(())
    } else {
        Err(Error::value(format!(
            "{arg} of {func} must have shape {} for this input shape and these parameters, got {}",
            fmt_tuple(expected),
            fmt_tuple(actual)
        )))
    }
}

/// A new output of `len` elements, written by `kernel`. Uninitialised
/// rather than zeroed: the pool kernels write every element, each piece on
/// the thread that computes it, so a serial zeroing pass over the whole
/// output (which `calloc` runs on memory it reuses) would be wasted.
///
/// # Safety
/// `kernel` writes every element of the slice it is given, as the pool
/// kernels do.
unsafe fn written_by<T>(len: usize, kernel: impl FnOnce(&mut [MaybeUninit<T>])) -> Result<Vec<T>> {
    let mut out = uninit::<T>(len)?;
    kernel(&mut out);
    // SAFETY: every element has been written (the caller's contract).
    Ok(unsafe { assume_init(out) })
}

#[pyfunction]
#[pyo3(signature = (input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, workers=None))]
#[allow(clippy::too_many_arguments)]
fn _max_pool<'py>(
    py: Python<'py>,
    input: &Bound<'py, PyAny>,
    kernel_size: Vec<i64>,
    stride: Vec<i64>,
    padding: Vec<i64>,
    dilation: Vec<i64>,
    ceil_mode: bool,
    return_indices: bool,
    workers: Option<i64>,
) -> PyResult<(Out<'py>, Option<Out<'py>>)> {
    let func = format!("max_pool{}d", kernel_size.len());
    let dtype = dtype_name(input, "input")?;
    dispatch_dtype!(&dtype, "input", [f32, f64], |T| {
        let arr = readonly::<T>(input, "input")?;
        let shape = PlaneShape::split(arr.shape(), kernel_size.len(), "input", &func)?;
        let g = PoolGeometry::new(
            shape.planes,
            &shape.spatial,
            &kernel_size,
            &stride,
            &padding,
            &dilation,
            ceil_mode,
            &func,
        )?;
        let out_shape = shape.with_spatial(&g.output_spatial());
        // SAFETY: the pool's max kernels write every element of both outputs.
        unsafe {
            run_max(
                py,
                workers,
                &arr,
                &out_shape,
                return_indices,
                g.work(),
                |src, values, indices| {
                    pool::max_pool(&g, src, values, indices);
                },
            )
        }
    })
}

/// Shared by the fixed and adaptive max-pool gradients: a per-plane scatter
/// of `grad_output` through `indices`.
#[pyfunction]
#[pyo3(signature = (grad_output, indices, input_shape, rank, func, workers=None))]
fn _max_pool_backward<'py>(
    py: Python<'py>,
    grad_output: &Bound<'py, PyAny>,
    indices: &Bound<'py, PyAny>,
    input_shape: Vec<i64>,
    rank: usize,
    func: &str,
    workers: Option<i64>,
) -> PyResult<Out<'py>> {
    let input_shape = sizes(&input_shape, "input_shape")?;
    let target = PlaneShape::split(&input_shape, rank, "input_shape", func)?;
    let index_dtype = dtype_name(indices, "indices")?;
    if index_dtype != "int64" {
        return Err(
            Error::type_error(format!("indices must have dtype int64, got {index_dtype}")).into(),
        );
    }
    let index_arr = readonly::<i64>(indices, "indices")?;
    let dtype = dtype_name(grad_output, "grad_output")?;
    dispatch_dtype!(&dtype, "grad_output", [f32, f64], |T| {
        let grad = readonly::<T>(grad_output, "grad_output")?;
        let source = PlaneShape::split(grad.shape(), rank, "grad_output", func)?;
        if source.leading != target.leading {
            return Err(Error::value(format!(
                "grad_output of {func} must have the leading (batch, channel) dimensions of input_shape {}, got shape {}",
                fmt_tuple(&input_shape),
                fmt_tuple(grad.shape())
            ))
            .into());
        }
        expect_shape(index_arr.shape(), grad.shape(), "indices", func)?;
        let in_plane: usize = target.spatial.iter().product();
        let out_plane: usize = source.spatial.iter().product();
        let len = target.planes * in_plane;
        let work = len.saturating_add(grad.len().saturating_mul(2));
        let result = with_contiguous(&index_arr, |idx| {
            with_contiguous(&grad, |g| {
                // The range check runs inside too: it splits large index
                // arrays across the pool's threads.
                Ok(detach_run_sized(py, workers, work, || -> Result<_> {
                    if let Some(pos) = pool::first_out_of_range(idx, in_plane) {
                        return Err(Error::value(format!(
                            "indices must be flat positions in an input plane, in [0, {in_plane}) for input_shape {}; got {} at flat position {pos}",
                            fmt_tuple(&input_shape),
                            idx[pos]
                        )));
                    }
                    // SAFETY: pool::max_pool_backward writes every element of its output.
                    unsafe {
                        written_by(len, |grad_in| {
                            pool::max_pool_backward(g, idx, grad_in, in_plane, out_plane)
                        })
                    }
                })??)
            })
        })?;
        to_array(py, &input_shape, result)
    })
}

#[pyfunction]
#[pyo3(signature = (input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, workers=None))]
#[allow(clippy::too_many_arguments)]
fn _avg_pool<'py>(
    py: Python<'py>,
    input: &Bound<'py, PyAny>,
    kernel_size: Vec<i64>,
    stride: Vec<i64>,
    padding: Vec<i64>,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Option<i64>,
    workers: Option<i64>,
) -> PyResult<Out<'py>> {
    let rank = kernel_size.len();
    let func = format!("avg_pool{rank}d");
    let divisor = positive_divisor(divisor_override)?;
    let dtype = dtype_name(input, "input")?;
    dispatch_dtype!(&dtype, "input", [f32, f64], |T| {
        let arr = readonly::<T>(input, "input")?;
        let shape = PlaneShape::split(arr.shape(), rank, "input", &func)?;
        let g = PoolGeometry::new(
            shape.planes,
            &shape.spatial,
            &kernel_size,
            &stride,
            &padding,
            &vec![1; rank],
            ceil_mode,
            &func,
        )?;
        let len = g.planes * g.out_plane();
        let values = with_contiguous(&arr, |src| {
            Ok(detach_run_sized(
                py,
                workers,
                g.work(),
                || -> Result<_> {
                    // SAFETY: pool::avg_pool writes every element of its output.
                    unsafe {
                        written_by(len, |values| {
                            pool::avg_pool(&g, src, values, count_include_pad, divisor)
                        })
                    }
                },
            )??)
        })?;
        to_array(py, &shape.with_spatial(&g.output_spatial()), values)
    })
}

#[pyfunction]
#[pyo3(signature = (grad_output, input_shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, workers=None))]
#[allow(clippy::too_many_arguments)]
fn _avg_pool_backward<'py>(
    py: Python<'py>,
    grad_output: &Bound<'py, PyAny>,
    input_shape: Vec<i64>,
    kernel_size: Vec<i64>,
    stride: Vec<i64>,
    padding: Vec<i64>,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Option<i64>,
    workers: Option<i64>,
) -> PyResult<Out<'py>> {
    let rank = kernel_size.len();
    let func = format!("avg_pool{rank}d_backward");
    let divisor = positive_divisor(divisor_override)?;
    let input_shape = sizes(&input_shape, "input_shape")?;
    let target = PlaneShape::split(&input_shape, rank, "input_shape", &func)?;
    let g = PoolGeometry::new(
        target.planes,
        &target.spatial,
        &kernel_size,
        &stride,
        &padding,
        &vec![1; rank],
        ceil_mode,
        &func,
    )?;
    let dtype = dtype_name(grad_output, "grad_output")?;
    dispatch_dtype!(&dtype, "grad_output", [f32, f64], |T| {
        let grad = readonly::<T>(grad_output, "grad_output")?;
        expect_shape(
            grad.shape(),
            &target.with_spatial(&g.output_spatial()),
            "grad_output",
            &func,
        )?;
        let len = g.planes * g.in_plane();
        let result = with_contiguous(&grad, |src| {
            Ok(detach_run_sized(
                py,
                workers,
                g.work(),
                || -> Result<_> {
                    // SAFETY: pool::avg_pool_backward writes every element of its output.
                    unsafe {
                        written_by(len, |grad_in| {
                            pool::avg_pool_backward(&g, src, grad_in, count_include_pad, divisor)
                        })
                    }
                },
            )??)
        })?;
        to_array(py, &input_shape, result)
    })
}

fn lp_geometry(
    shape: &PlaneShape,
    kernel_size: &[i64],
    stride: &[i64],
    ceil_mode: bool,
    func: &str,
) -> Result<PoolGeometry> {
    let rank = kernel_size.len();
    PoolGeometry::new(
        shape.planes,
        &shape.spatial,
        kernel_size,
        stride,
        &vec![0; rank],
        &vec![1; rank],
        ceil_mode,
        func,
    )
}

#[pyfunction]
#[pyo3(signature = (input, norm_type, kernel_size, stride, ceil_mode, workers=None))]
fn _lp_pool<'py>(
    py: Python<'py>,
    input: &Bound<'py, PyAny>,
    norm_type: f64,
    kernel_size: Vec<i64>,
    stride: Vec<i64>,
    ceil_mode: bool,
    workers: Option<i64>,
) -> PyResult<Out<'py>> {
    let rank = kernel_size.len();
    let func = format!("lp_pool{rank}d");
    let dtype = dtype_name(input, "input")?;
    dispatch_dtype!(&dtype, "input", [f32, f64], |T| {
        let norm = LpNorm::<T>::new(norm_type)?;
        let arr = readonly::<T>(input, "input")?;
        let shape = PlaneShape::split(arr.shape(), rank, "input", &func)?;
        let g = lp_geometry(&shape, &kernel_size, &stride, ceil_mode, &func)?;
        let len = g.planes * g.out_plane();
        let values = with_contiguous(&arr, |src| {
            Ok(detach_run_sized(
                py,
                workers,
                g.work(),
                || -> Result<_> {
                    // SAFETY: pool::lp_pool writes every element of its output.
                    unsafe { written_by(len, |values| pool::lp_pool(&g, src, values, norm)) }
                },
            )??)
        })?;
        to_array(py, &shape.with_spatial(&g.output_spatial()), values)
    })
}

#[pyfunction]
#[pyo3(signature = (grad_output, input, output, norm_type, kernel_size, stride, ceil_mode, workers=None))]
#[allow(clippy::too_many_arguments)]
fn _lp_pool_backward<'py>(
    py: Python<'py>,
    grad_output: &Bound<'py, PyAny>,
    input: &Bound<'py, PyAny>,
    output: &Bound<'py, PyAny>,
    norm_type: f64,
    kernel_size: Vec<i64>,
    stride: Vec<i64>,
    ceil_mode: bool,
    workers: Option<i64>,
) -> PyResult<Out<'py>> {
    let rank = kernel_size.len();
    let func = format!("lp_pool{rank}d_backward");
    let dtype = dtype_name(input, "input")?;
    dispatch_dtype!(&dtype, "input", [f32, f64], |T| {
        let norm = LpNorm::<T>::new(norm_type)?;
        let x = readonly::<T>(input, "input")?;
        let grad = readonly::<T>(grad_output, "grad_output")?;
        let y = readonly::<T>(output, "output")?;
        let shape = PlaneShape::split(x.shape(), rank, "input", &func)?;
        let g = lp_geometry(&shape, &kernel_size, &stride, ceil_mode, &func)?;
        let out_shape = shape.with_spatial(&g.output_spatial());
        expect_shape(grad.shape(), &out_shape, "grad_output", &func)?;
        expect_shape(y.shape(), &out_shape, "output", &func)?;
        let len = g.planes * g.in_plane();
        let result = with_contiguous(&x, |xs| {
            with_contiguous(&grad, |gs| {
                with_contiguous(&y, |ys| {
                    Ok(detach_run_sized(
                        py,
                        workers,
                        g.work(),
                        || -> Result<_> {
                            // SAFETY: pool::lp_pool_backward writes every element of its output.
                            unsafe {
                                written_by(len, |grad_in| {
                                    pool::lp_pool_backward(&g, gs, xs, ys, grad_in, norm)
                                })
                            }
                        },
                    )??)
                })
            })
        })?;
        to_array(py, x.shape(), result)
    })
}

#[pyfunction]
#[pyo3(signature = (input, output_size, workers=None))]
fn _adaptive_avg_pool<'py>(
    py: Python<'py>,
    input: &Bound<'py, PyAny>,
    output_size: Vec<Option<i64>>,
    workers: Option<i64>,
) -> PyResult<Out<'py>> {
    let func = format!("adaptive_avg_pool{}d", output_size.len());
    let dtype = dtype_name(input, "input")?;
    dispatch_dtype!(&dtype, "input", [f32, f64], |T| {
        let arr = readonly::<T>(input, "input")?;
        let shape = PlaneShape::split(arr.shape(), output_size.len(), "input", &func)?;
        let g = AdaptiveGeometry::new(shape.planes, &shape.spatial, &output_size)?;
        let len = g.planes * g.out_plane();
        let values = with_contiguous(&arr, |src| {
            Ok(detach_run_sized(
                py,
                workers,
                g.work(),
                || -> Result<_> {
                    // SAFETY: pool::adaptive_avg_pool writes every element of its output.
                    unsafe { written_by(len, |values| pool::adaptive_avg_pool(&g, src, values)) }
                },
            )??)
        })?;
        to_array(py, &shape.with_spatial(&g.output_spatial()), values)
    })
}

#[pyfunction]
#[pyo3(signature = (input, output_size, return_indices, workers=None))]
fn _adaptive_max_pool<'py>(
    py: Python<'py>,
    input: &Bound<'py, PyAny>,
    output_size: Vec<Option<i64>>,
    return_indices: bool,
    workers: Option<i64>,
) -> PyResult<(Out<'py>, Option<Out<'py>>)> {
    let func = format!("adaptive_max_pool{}d", output_size.len());
    let dtype = dtype_name(input, "input")?;
    dispatch_dtype!(&dtype, "input", [f32, f64], |T| {
        let arr = readonly::<T>(input, "input")?;
        let shape = PlaneShape::split(arr.shape(), output_size.len(), "input", &func)?;
        let g = AdaptiveGeometry::new(shape.planes, &shape.spatial, &output_size)?;
        let out_shape = shape.with_spatial(&g.output_spatial());
        // SAFETY: the pool's max kernels write every element of both outputs.
        unsafe {
            run_max(
                py,
                workers,
                &arr,
                &out_shape,
                return_indices,
                g.work(),
                |src, values, indices| {
                    pool::adaptive_max_pool(&g, src, values, indices);
                },
            )
        }
    })
}

#[pyfunction]
#[pyo3(signature = (grad_output, input_shape, rank, workers=None))]
fn _adaptive_avg_pool_backward<'py>(
    py: Python<'py>,
    grad_output: &Bound<'py, PyAny>,
    input_shape: Vec<i64>,
    rank: usize,
    workers: Option<i64>,
) -> PyResult<Out<'py>> {
    let func = format!("adaptive_avg_pool{rank}d_backward");
    let input_shape = sizes(&input_shape, "input_shape")?;
    let target = PlaneShape::split(&input_shape, rank, "input_shape", &func)?;
    let dtype = dtype_name(grad_output, "grad_output")?;
    dispatch_dtype!(&dtype, "grad_output", [f32, f64], |T| {
        let grad = readonly::<T>(grad_output, "grad_output")?;
        let source = PlaneShape::split(grad.shape(), rank, "grad_output", &func)?;
        if source.leading != target.leading {
            return Err(Error::value(format!(
                "grad_output of {func} must have the leading (batch, channel) dimensions of input_shape {}, got shape {}",
                fmt_tuple(&input_shape),
                fmt_tuple(grad.shape())
            ))
            .into());
        }
        let output_size: Vec<Option<i64>> = source
            .spatial
            .iter()
            .map(|&s| i64::try_from(s).ok())
            .collect();
        let g = AdaptiveGeometry::new(target.planes, &target.spatial, &output_size)?;
        let len = g.planes * g.in_plane();
        let result = with_contiguous(&grad, |src| {
            Ok(detach_run_sized(
                py,
                workers,
                g.work(),
                || -> Result<_> {
                    // SAFETY: pool::adaptive_avg_pool_backward writes every element of its output.
                    unsafe {
                        written_by(len, |grad_in| {
                            pool::adaptive_avg_pool_backward(&g, src, grad_in)
                        })
                    }
                },
            )??)
        })?;
        to_array(py, &input_shape, result)
    })
}

#[pyfunction]
#[pyo3(signature = (input_shape, kernel_size, stride, padding, dilation, ceil_mode))]
fn _pool_output_shape(
    input_shape: Vec<i64>,
    kernel_size: Vec<i64>,
    stride: Vec<i64>,
    padding: Vec<i64>,
    dilation: Vec<i64>,
    ceil_mode: bool,
) -> PyResult<Vec<usize>> {
    let rank = kernel_size.len();
    let input_shape = sizes(&input_shape, "input_shape")?;
    if input_shape.len() < rank || input_shape.len() > rank + 2 {
        return Err(Error::value(format!(
            "input_shape must have {rank} (spatial only), {} (unbatched) or {} (batched) entries for {rank} spatial dimensions, got {}",
            rank + 1,
            rank + 2,
            fmt_tuple(&input_shape)
        ))
        .into());
    }
    let split = input_shape.len() - rank;
    let spatial = &input_shape[split..];
    if spatial.contains(&0) {
        return Err(Error::value(format!(
            "input_shape must have non-empty spatial dimensions, got {}",
            fmt_tuple(&input_shape)
        ))
        .into());
    }
    let g = PoolGeometry::new(
        1,
        spatial,
        &kernel_size,
        &stride,
        &padding,
        &dilation,
        ceil_mode,
        "pool_output_shape",
    )?;
    let mut shape = input_shape[..split].to_vec();
    shape.extend(g.output_spatial());
    Ok(shape)
}

/// Adds this family's functions to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_max_pool, m)?)?;
    m.add_function(wrap_pyfunction!(_max_pool_backward, m)?)?;
    m.add_function(wrap_pyfunction!(_avg_pool, m)?)?;
    m.add_function(wrap_pyfunction!(_avg_pool_backward, m)?)?;
    m.add_function(wrap_pyfunction!(_lp_pool, m)?)?;
    m.add_function(wrap_pyfunction!(_lp_pool_backward, m)?)?;
    m.add_function(wrap_pyfunction!(_adaptive_avg_pool, m)?)?;
    m.add_function(wrap_pyfunction!(_adaptive_max_pool, m)?)?;
    m.add_function(wrap_pyfunction!(_adaptive_avg_pool_backward, m)?)?;
    m.add_function(wrap_pyfunction!(_pool_output_shape, m)?)?;
    Ok(())
}
