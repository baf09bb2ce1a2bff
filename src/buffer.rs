//! Allocation that reports failure instead of aborting the process.

use crate::error::{Error, Result};

/// A vector of `len` copies of `value`, or `Error::Memory` when the
/// allocation cannot succeed (Rust's default is to abort the whole process,
/// which would take the user's Python session down with it).
pub fn try_filled<T: Clone>(len: usize, value: T) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        Error::Memory(format!(
            "cannot allocate {len} elements of {} bytes each",
            std::mem::size_of::<T>()
        ))
    })?;
    v.resize(len, value);
    Ok(v)
}

/// The items of `iter` (exactly `len` of them) in a new vector, or
/// `Error::Memory` when the vector cannot be allocated: the fallible form of
/// `iter.collect()`, for copies whose size the caller's input decides.
pub fn try_collect<T>(len: usize, iter: impl IntoIterator<Item = T>) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        Error::Memory(format!(
            "cannot allocate a copy of {len} elements of {} bytes each",
            std::mem::size_of::<T>()
        ))
    })?;
    v.extend(iter);
    Ok(v)
}

/// `Error::Memory` when `len` elements of `T` cannot be reserved. The
/// reservation is released at once and never touched, so this costs nothing;
/// it guards work whose buffers are allocated later inside parallel tasks,
/// where a failed allocation would abort the process instead of raising.
pub fn ensure_allocatable<T>(len: usize, what: &str) -> Result<()> {
    let mut v: Vec<T> = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        Error::Memory(format!(
            "cannot allocate {what}: {len} elements of {} bytes each",
            std::mem::size_of::<T>()
        ))
    })
}

/// The product of `dims`, or an overflow error naming `what`.
pub fn checked_product(dims: &[usize], what: &str) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::overflow(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_allocation_is_an_error_not_an_abort() {
        let err = try_filled::<f64>(usize::MAX / 4, 0.0).unwrap_err();
        assert!(matches!(err, Error::Memory(_)));
    }

    #[test]
    fn fallible_collect_and_check() {
        assert_eq!(try_collect(3, 0..3).unwrap(), vec![0, 1, 2]);
        assert!(matches!(
            try_collect::<u64>(usize::MAX / 4, std::iter::empty()),
            Err(Error::Memory(_))
        ));
        assert!(ensure_allocatable::<f64>(16, "x").is_ok());
        assert!(matches!(
            ensure_allocatable::<f64>(usize::MAX / 4, "x"),
            Err(Error::Memory(_))
        ));
    }

    #[test]
    fn product_overflow_is_detected() {
        assert_eq!(checked_product(&[2, 3, 4], "x").unwrap(), 24);
        assert!(checked_product(&[usize::MAX, 2], "x").is_err());
    }
}
