//! The extension's global allocator: the system allocator, except that a
//! few freed blocks of 32 MiB and more are kept for the next request of the
//! same size.
//!
//! Blocks that large come from `mmap` and go back with `munmap` (glibc's
//! threshold for that tops out at 32 MiB), so every call that returns a
//! large array faulted its pages in anew: the kernel clears each one, and
//! with transparent huge pages in `madvise` mode it may first compact
//! memory to find a huge page (see `buffer`). A loop that filters image
//! after image of one size, or a benchmark repeating a call, paid that for
//! every output (measured on the 2-core VM: a 8192² 3×3 correlation took
//! 21–24 ms, of which the kernel's own pass over memory is about 13).
//! A kept block is already backed, and its advice for huge pages holds.
//!
//! At most [`SLOTS`] blocks are kept, together at most
//! [`limit_bytes`] (512 MiB unless `RUSTCONV_RECYCLE_MIB` says otherwise
//! when the module loads; 0 turns keeping off); the oldest go first when a
//! new block needs the room. Zeroed requests never take a kept block: fresh
//! memory from the operating system is already zero, and clearing a kept
//! block would be one more pass on one thread. The lock is only ever tried,
//! never waited for, so a busy or inherited (after `fork`) lock means the
//! system allocator serves the request, and nothing here can deadlock.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Blocks from this size on may be kept.
const MIN_BYTES: usize = 32 << 20;

/// Most blocks kept at once.
const SLOTS: usize = 4;

/// The extension's allocator.
#[global_allocator]
static GLOBAL: Recycling = Recycling::new(512 << 20);

/// Bytes the kept blocks may hold together.
pub fn limit_bytes() -> usize {
    GLOBAL.limit.load(Ordering::Relaxed)
}

/// Sets [`limit_bytes`]; blocks kept beyond it are released the next time
/// one is kept.
pub fn set_limit_bytes(bytes: usize) {
    GLOBAL.limit.store(bytes, Ordering::Relaxed);
}

/// A kept block: address, size, alignment, and when it was kept.
#[derive(Clone, Copy)]
struct Block {
    addr: usize,
    size: usize,
    align: usize,
    age: u64,
}

struct Kept {
    blocks: [Option<Block>; SLOTS],
    held: usize,
    clock: u64,
}

/// The system allocator with large blocks kept for reuse (see the module
/// docs).
pub struct Recycling {
    kept: Mutex<Kept>,
    limit: AtomicUsize,
}

impl Recycling {
    /// An allocator that keeps at most `limit` bytes of freed blocks.
    pub const fn new(limit: usize) -> Self {
        Recycling {
            kept: Mutex::new(Kept {
                blocks: [None; SLOTS],
                held: 0,
                clock: 0,
            }),
            limit: AtomicUsize::new(limit),
        }
    }

    /// A kept block of exactly `layout`, if there is one.
    fn take(&self, layout: Layout) -> Option<*mut u8> {
        let mut kept = self.kept.try_lock().ok()?;
        let slot = kept
            .blocks
            .iter_mut()
            .find(|b| b.is_some_and(|b| b.size == layout.size() && b.align == layout.align()))?;
        let block = slot.take()?;
        kept.held -= block.size;
        Some(block.addr as *mut u8)
    }

    /// Keeps `ptr` if the limit allows, releasing the oldest blocks to make
    /// room; whether it was kept. Released blocks are freed after the lock.
    fn keep(&self, ptr: *mut u8, layout: Layout) -> bool {
        let limit = self.limit.load(Ordering::Relaxed);
        if layout.size() > limit {
            return false;
        }
        let Ok(mut kept) = self.kept.try_lock() else {
            return false;
        };
        let mut released: [Option<Block>; SLOTS] = [None; SLOTS];
        while kept.held + layout.size() > limit || kept.blocks.iter().all(Option::is_some) {
            // The oldest kept block goes (there is one: the limit holds
            // this block alone, so either test fails on an empty list).
            let Some(oldest) = (0..SLOTS)
                .filter(|&i| kept.blocks[i].is_some())
                .min_by_key(|&i| kept.blocks[i].map_or(u64::MAX, |b| b.age))
            else {
                break;
            };
            let block = kept.blocks[oldest].take();
            kept.held -= block.map_or(0, |b| b.size);
            released[oldest] = block;
        }
        kept.clock += 1;
        let block = Block {
            addr: ptr as usize,
            size: layout.size(),
            align: layout.align(),
            age: kept.clock,
        };
        let stored = match kept.blocks.iter().position(Option::is_none) {
            Some(i) => {
                kept.blocks[i] = Some(block);
                kept.held += layout.size();
                true
            }
            None => false,
        };
        drop(kept);
        for block in released.into_iter().flatten() {
            // SAFETY: a kept block came from `System` with this size and
            // alignment (a valid layout: it was one when kept), and it left
            // the list above, so nothing else frees or hands it out.
            unsafe {
                System.dealloc(
                    block.addr as *mut u8,
                    Layout::from_size_align_unchecked(block.size, block.align),
                )
            };
        }
        stored
    }

    /// Bytes kept right now.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.kept.lock().map_or(0, |k| k.held)
    }
}

// SAFETY: every block handed out comes from `System` with the requested
// layout (fresh, or kept after a `dealloc` of exactly that layout and handed
// out once, since `take` removes it from the list); every block freed goes
// to `System` with the layout it was allocated with, now or when it leaves
// the list.
unsafe impl GlobalAlloc for Recycling {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= MIN_BYTES
            && let Some(ptr) = self.take(layout)
        {
            return ptr;
        }
        // SAFETY: the caller's layout has a non-zero size (GlobalAlloc's
        // contract), as System's requires.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= MIN_BYTES && self.keep(ptr, layout) {
            return;
        }
        // SAFETY: `ptr` came from `System` with `layout` (see above).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout` (see above); the
        // caller upholds the rest of realloc's contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freed_large_block_serves_the_next_request_of_its_layout() {
        let r = Recycling::new(1 << 30);
        let layout = Layout::from_size_align(MIN_BYTES + 4096, 64).unwrap();
        // SAFETY: a non-zero layout; every block is freed with its layout.
        unsafe {
            let a = r.alloc(layout);
            assert!(!a.is_null());
            r.dealloc(a, layout);
            assert_eq!(r.held(), layout.size());
            // Another alignment or size, or a zeroed request, is not served.
            let other = Layout::from_size_align(MIN_BYTES + 4096, 4096).unwrap();
            let c = r.alloc(other);
            assert_ne!(c, a);
            let z = r.alloc_zeroed(layout);
            assert_ne!(z, a);
            assert_eq!(*z, 0);
            let b = r.alloc(layout);
            assert_eq!(b, a);
            assert_eq!(r.held(), 0);
            r.dealloc(b, layout);
            r.dealloc(c, other);
            r.dealloc(z, layout);
            // A small block is never kept.
            let small = Layout::from_size_align(4096, 8).unwrap();
            let s = r.alloc(small);
            r.dealloc(s, small);
            let kept = r.kept.lock().unwrap();
            assert!(kept.blocks.iter().flatten().all(|b| b.size >= MIN_BYTES));
            assert_eq!(kept.blocks.iter().flatten().count(), 3);
        }
    }

    #[test]
    fn the_limit_and_the_slots_release_the_oldest_blocks() {
        let size = MIN_BYTES;
        let r = Recycling::new(2 * size);
        let layout = Layout::from_size_align(size, 4096).unwrap();
        let addrs = |r: &Recycling| -> Vec<usize> {
            let kept = r.kept.lock().unwrap();
            kept.blocks.iter().flatten().map(|b| b.addr).collect()
        };
        // SAFETY: a non-zero layout; every block is freed with it.
        unsafe {
            let blocks: Vec<*mut u8> = (0..3).map(|_| r.alloc(layout)).collect();
            for &b in &blocks {
                r.dealloc(b, layout);
            }
            // The first block freed was the oldest, so it went.
            assert_eq!(r.held(), 2 * size);
            let kept = addrs(&r);
            assert!(!kept.contains(&(blocks[0] as usize)));
            assert!(kept.contains(&(blocks[2] as usize)));
            // A block larger than the limit is never kept.
            let big = Layout::from_size_align(3 * size, 4096).unwrap();
            let p = r.alloc(big);
            r.dealloc(p, big);
            assert_eq!(r.held(), 2 * size);
            // Slots run out before bytes: the oldest goes again.
            r.limit.store(usize::MAX, Ordering::Relaxed);
            let more: Vec<*mut u8> = (0..SLOTS + 1)
                .map(|_| r.alloc(Layout::from_size_align(size + 64, 64).unwrap()))
                .collect();
            for &b in &more {
                r.dealloc(b, Layout::from_size_align(size + 64, 64).unwrap());
            }
            assert_eq!(addrs(&r).len(), SLOTS);
            assert!(!addrs(&r).contains(&(blocks[1] as usize)));
            // Release everything.
            r.limit.store(0, Ordering::Relaxed);
            let layouts = {
                let kept = r.kept.lock().unwrap();
                kept.blocks
                    .iter()
                    .flatten()
                    .map(|b| (b.size, b.align))
                    .collect::<Vec<_>>()
            };
            for (size, align) in layouts {
                let l = Layout::from_size_align(size, align).unwrap();
                let p = r.alloc(l);
                r.dealloc(p, l);
            }
            assert_eq!(r.held(), 0);
        }
    }
}
