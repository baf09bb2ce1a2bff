//! Allocation that reports failure instead of aborting the process, and
//! the one place that allocates large outputs.
//!
//! Large buffers ask the kernel for transparent huge pages, as NumPy's own
//! allocator does for blocks of 4 MiB and more. On the machines rustconv is
//! measured on, touching a fresh 4 KiB page costs about 2.6 µs, so a
//! 256 MiB output paid about 170 ms of page faults (more than the
//! convolution itself); with 2 MiB pages the same output faults 128 times.

use crate::error::{Error, Result};
use num_complex::Complex;

/// Element types whose all-zero byte pattern is a valid value (the value
/// zero), so a buffer of them can come zeroed from the allocator.
///
/// # Safety
/// Implement only for types for which every all-zero byte pattern is a
/// valid value: IEEE 754 floats (+0.0), primitive integers (0), `bool`
/// (false) and complex pairs of floats.
pub unsafe trait ZeroBits: Copy {}

macro_rules! zero_bits {
    ($($t:ty),*) => {$(
        // SAFETY: all-zero bytes are 0, +0.0, false or (+0.0, +0.0).
        unsafe impl ZeroBits for $t {}
    )*};
}
zero_bits!(
    f32,
    f64,
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
    bool,
    Complex<f32>,
    Complex<f64>
);

/// Buffers from this size on get the huge-page advice (NumPy's threshold).
const HUGE_ADVICE_BYTES: usize = 4 << 20;

/// Asks for transparent huge pages on the 2 MiB-aligned pages that lie
/// wholly inside `buffer` (none when it is smaller than 4 MiB). Only advice:
/// contents are unchanged, and a kernel that does not support it (or a
/// system with huge pages disabled) leaves the small pages in place. Call it
/// before the buffer is first written, since only the faults it saves cost.
pub fn advise_huge_pages<T>(buffer: &[std::mem::MaybeUninit<T>]) {
    let bytes = std::mem::size_of_val(buffer);
    if bytes < HUGE_ADVICE_BYTES {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const HUGE_PAGE: usize = 2 << 20;
        let begin = buffer.as_ptr() as usize;
        let start = begin.next_multiple_of(HUGE_PAGE);
        let end = (begin + bytes) / HUGE_PAGE * HUGE_PAGE;
        if end > start {
            // SAFETY: [start, end) is page-aligned and lies inside `buffer`,
            // memory this process owns; MADV_HUGEPAGE changes only how the
            // kernel backs the range, never its contents, and a failure
            // (EINVAL where huge pages are off) is harmless, so it is ignored.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
}

/// An empty vector with room for exactly `len` elements (advised for huge
/// pages when large), or `Error::Memory` naming `what`.
fn reserve<T>(len: usize, what: &str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        Error::Memory(format!(
            "cannot allocate {what}{len} elements of {} bytes each",
            std::mem::size_of::<T>()
        ))
    })?;
    advise_huge_pages(&v.spare_capacity_mut()[..len]);
    Ok(v)
}

/// A vector of `len` zeros straight from the allocator's zeroed memory, or
/// `Error::Memory` instead of an abort. A large buffer is fresh memory from
/// the operating system, already zero, so no memset pass runs: measured, the
/// memset of a filled vector cost 4 % of a 1×1 convolution forward pass and
/// about 10 % of a small MNIST-sized one.
pub fn zeroed<T: ZeroBits>(len: usize) -> Result<Vec<T>> {
    let memory_error = || {
        Error::Memory(format!(
            "cannot allocate {len} elements of {} bytes each",
            std::mem::size_of::<T>()
        ))
    };
    let layout = std::alloc::Layout::array::<T>(len).map_err(|_| memory_error())?;
    if layout.size() == 0 {
        return Ok(Vec::new());
    }
    // SAFETY: the layout has a non-zero size (checked above), as
    // `alloc_zeroed` requires.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<T>();
    if ptr.is_null() {
        return Err(memory_error());
    }
    // SAFETY: `ptr` comes from the global allocator with the layout of
    // `[T; len]`, which is exactly what a `Vec<T>` of capacity `len` frees
    // with, and all `len` elements are initialised, because all-zero bytes
    // are a valid `T` (the `ZeroBits` contract).
    let v = unsafe { Vec::from_raw_parts(ptr, len, len) };
    // calloc leaves fresh pages from the operating system untouched, so the
    // advice still comes before their first fault. Reused memory is already
    // backed, and the advice costs one system call there.
    // SAFETY: the same `len` initialised elements, viewed as `MaybeUninit`
    // (same layout), read-only.
    advise_huge_pages(unsafe {
        std::slice::from_raw_parts(v.as_ptr().cast::<std::mem::MaybeUninit<T>>(), len)
    });
    Ok(v)
}

/// A vector of `len` elements that nothing has written yet (advised for
/// huge pages when large), or `Error::Memory` instead of an abort.
///
/// For outputs that the tasks of a kernel fill piece by piece: each task
/// zeroes its own piece with [`zero_fill`] just before computing into it,
/// while the piece is in its core's cache. Zeroing the whole buffer first
/// (as `calloc` must for memory it reuses, which is what a repeated call
/// gets) is one more pass over memory on one thread: measured, 11 % of a
/// 2048² 3×3 correlation.
pub fn uninit<T>(len: usize) -> Result<Vec<std::mem::MaybeUninit<T>>> {
    let mut v = reserve(len, "")?;
    // SAFETY: the capacity is `len` and `MaybeUninit` needs no initialisation.
    unsafe { v.set_len(len) };
    Ok(v)
}

/// Writes zeros over `part` (a piece of an [`uninit`] buffer) and returns
/// it as initialised elements.
pub fn zero_fill<T: ZeroBits>(part: &mut [std::mem::MaybeUninit<T>]) -> &mut [T] {
    // SAFETY: `part` is valid for writes of `part.len()` elements; after the
    // write every element is all-zero bytes, a valid `T` (the `ZeroBits`
    // contract), and `MaybeUninit<T>` has the layout of `T`.
    unsafe {
        std::ptr::write_bytes(part.as_mut_ptr(), 0, part.len());
        &mut *(part as *mut [std::mem::MaybeUninit<T>] as *mut [T])
    }
}

/// Writes `value` over every element of `part` (a piece of an [`uninit`]
/// buffer) and returns it as initialised elements: for kernels that
/// accumulate into their piece, or that write it through code taking
/// `&mut [T]`.
pub fn init_fill<T: Copy>(part: &mut [std::mem::MaybeUninit<T>], value: T) -> &mut [T] {
    part.fill(std::mem::MaybeUninit::new(value));
    // SAFETY: every element was just written with a valid `T`, and
    // `MaybeUninit<T>` has the layout of `T`.
    unsafe { &mut *(part as *mut [std::mem::MaybeUninit<T>] as *mut [T]) }
}

/// The elements of `v` as initialised values.
///
/// # Safety
/// Every element of `v` has been written (for instance through
/// [`zero_fill`] of pieces that together cover it).
pub unsafe fn assume_init<T>(v: Vec<std::mem::MaybeUninit<T>>) -> Vec<T> {
    let mut v = std::mem::ManuallyDrop::new(v);
    let (ptr, len, capacity) = (v.as_mut_ptr(), v.len(), v.capacity());
    // SAFETY: the allocation of a `Vec<MaybeUninit<T>>` is that of a
    // `Vec<T>` of the same capacity (same layout), ownership moves out of
    // the `ManuallyDrop`, and the caller guarantees the `len` elements are
    // initialised.
    unsafe { Vec::from_raw_parts(ptr.cast::<T>(), len, capacity) }
}

/// A vector of `len` copies of `value`, or `Error::Memory` when the
/// allocation cannot succeed (Rust's default is to abort the whole process,
/// which would take the user's Python session down with it).
pub fn try_filled<T: Clone>(len: usize, value: T) -> Result<Vec<T>> {
    let mut v = reserve(len, "")?;
    v.resize(len, value);
    Ok(v)
}

/// The items of `iter` (exactly `len` of them) in a new vector, or
/// `Error::Memory` when the vector cannot be allocated: the fallible form of
/// `iter.collect()`, for copies whose size the caller's input decides.
pub fn try_collect<T>(len: usize, iter: impl IntoIterator<Item = T>) -> Result<Vec<T>> {
    let mut v = reserve(len, "a copy of ")?;
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
    fn zeroed_buffers_are_zero_or_a_memory_error() {
        assert!(zeroed::<f32>(0).unwrap().is_empty());
        // Past the huge-page threshold, so the advice runs too.
        let v = zeroed::<f64>(HUGE_ADVICE_BYTES / 8 + 100_003).unwrap();
        assert!(v.iter().all(|&x| x.to_bits() == 0));
        let c = zeroed::<Complex<f32>>(7).unwrap();
        assert!(c.iter().all(|z| z.re == 0.0 && z.im == 0.0));
        assert!(matches!(
            zeroed::<f32>(usize::MAX / 2),
            Err(Error::Memory(_))
        ));
        assert!(matches!(
            zeroed::<i64>(usize::MAX / 4),
            Err(Error::Memory(_))
        ));
    }

    #[test]
    fn filled_pieces_make_an_initialised_buffer() {
        let mut v = uninit::<f64>(10).unwrap();
        let (a, b) = v.split_at_mut(4);
        assert_eq!(init_fill(a, -1.5), &[-1.5; 4]);
        assert_eq!(zero_fill(b), &[0.0; 6]);
        // SAFETY: the two pieces cover the whole buffer.
        let v = unsafe { assume_init(v) };
        assert_eq!(v[..4], [-1.5; 4]);
        assert!(v[4..].iter().all(|x| x.to_bits() == 0));
    }

    #[test]
    fn huge_page_advice_keeps_contents() {
        let mut v: Vec<u8> = Vec::with_capacity(9 << 20);
        v.resize(9 << 20, 7);
        advise_huge_pages(&v.spare_capacity_mut()[..0]);
        // SAFETY: the initialised elements viewed as MaybeUninit, read-only.
        let all = unsafe {
            std::slice::from_raw_parts(v.as_ptr().cast::<std::mem::MaybeUninit<u8>>(), v.len())
        };
        advise_huge_pages(all);
        assert!(v.iter().all(|&b| b == 7));
        assert_eq!(
            try_filled(5 << 20, 3u8)
                .unwrap()
                .iter()
                .filter(|&&b| b == 3)
                .count(),
            5 << 20
        );
    }

    #[test]
    fn product_overflow_is_detected() {
        assert_eq!(checked_product(&[2, 3, 4], "x").unwrap(), 24);
        assert!(checked_product(&[usize::MAX, 2], "x").is_err());
    }
}
