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
    fn product_overflow_is_detected() {
        assert_eq!(checked_product(&[2, 3, 4], "x").unwrap(), 24);
        assert!(checked_product(&[usize::MAX, 2], "x").is_err());
    }
}
