//! An allocator wrapper that survives the decoder's trust in a peer's counts.
//!
//! `kafka-protocol` 0.18 decodes an array by calling `Vec::with_capacity` on
//! the element count the peer wrote, before decoding a single element. A frame
//! of a few bytes can therefore ask for hundreds of gigabytes; the allocator
//! refuses, and Rust answers a refused allocation by aborting the process, so
//! one hostile frame would stop the server and every client on it.
//!
//! [`ReserveLazily`] wraps the real allocator. An allocation of at least
//! [`LAZY_FROM_BYTES`] is not reserved but mapped with `MAP_NORESERVE`: the
//! kernel hands out address space and commits a page only when it is first
//! written. The decoder then writes the few elements the frame really holds,
//! fails at the frame's end as for any truncated input, and the mapping is
//! returned untouched but for those pages. The frame size bound
//! (`socket.request.max.bytes`) keeps what is written small.
//!
//! Limits: address space is 128 TiB on x86-64 Linux, far above any count an
//! `i32` can announce times any element's size; on a kernel with strict
//! overcommit (`vm.overcommit_memory = 2`) `MAP_NORESERVE` is ignored and such
//! an allocation fails as before. The binary installs this wrapper around its
//! allocator (`sim/src/main.rs`); the test of hostile peers installs it around
//! the system's.

use std::alloc::{GlobalAlloc, Layout};
use std::ptr;

/// Allocations from this size on are mapped lazily (1 GiB: no structure
/// decoded from one request of at most 100 MiB needs that much).
pub const LAZY_FROM_BYTES: usize = 1 << 30;

/// The page size every mapping is aligned to, at least.
const PAGE: usize = 4096;

/// `A`, except that allocations of [`LAZY_FROM_BYTES`] or more are mapped
/// with `MAP_NORESERVE` instead of reserved.
pub struct ReserveLazily<A>(pub A);

fn lazy(layout: Layout) -> bool {
    layout.size() >= LAZY_FROM_BYTES && layout.align() <= PAGE
}

/// Maps `size` bytes of zeroed, unreserved memory; null if the kernel refuses.
unsafe fn map(size: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping at an address of the kernel's
    // choice touches no existing memory.
    let at = unsafe {
        libc::mmap(
            ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if at == libc::MAP_FAILED {
        ptr::null_mut()
    } else {
        at.cast()
    }
}

// SAFETY: every block is either `A`'s, for layouts `lazy` refuses, or a
// mapping of exactly `layout.size()` bytes, for layouts it accepts; the same
// test on the layout a block is freed or resized with sends it back to where
// it came from (GlobalAlloc's callers pass the layout it was allocated with).
unsafe impl<A: GlobalAlloc> GlobalAlloc for ReserveLazily<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if lazy(layout) {
            // SAFETY: see `map`.
            unsafe { map(layout.size()) }
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { self.0.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if lazy(layout) {
            // SAFETY: anonymous mappings are zeroed.
            unsafe { map(layout.size()) }
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { self.0.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        if lazy(layout) {
            // SAFETY: `block` is a mapping of `layout.size()` bytes.
            unsafe { libc::munmap(block.cast(), layout.size()) };
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { self.0.dealloc(block, layout) }
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` with `layout`'s alignment
        // is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (lazy(layout), lazy(new_layout)) {
            // SAFETY: the caller's contract, passed on.
            (false, false) => return unsafe { self.0.realloc(block, layout, new_size) },
            // A mapping grows or shrinks by moving its pages, not copying
            // them: a copy would write, and so commit, every page.
            (true, true) => {
                // SAFETY: `block` is a mapping of `layout.size()` bytes.
                let moved = unsafe {
                    libc::mremap(block.cast(), layout.size(), new_size, libc::MREMAP_MAYMOVE)
                };
                return if moved == libc::MAP_FAILED {
                    ptr::null_mut()
                } else {
                    moved.cast()
                };
            }
            // Between a mapping and a block of `A`, at most the smaller of the
            // two, under 1 GiB, is copied.
            _ => {}
        }
        // SAFETY: allocate, copy what both blocks hold, free the old one.
        unsafe {
            let moved = self.alloc(new_layout);
            if !moved.is_null() {
                ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                self.dealloc(block, layout);
            }
            moved
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::System;

    #[test]
    fn a_huge_block_is_mapped_written_where_used_and_freed() {
        let allocator = ReserveLazily(System);
        // 256 GiB: more than this machine's memory and swap together.
        let layout = Layout::from_size_align(256 << 30, 8).unwrap();
        // SAFETY: the block is used within its size and freed with its layout.
        unsafe {
            let block = allocator.alloc(layout);
            assert!(!block.is_null(), "address space, not memory, is taken");
            block.write(7);
            block.add(4096 * 10).write(9);
            assert_eq!(block.read(), 7);
            let grown = allocator.realloc(block, layout, (256 << 30) + 4096);
            assert!(!grown.is_null());
            assert_eq!(grown.read(), 7);
            assert_eq!(grown.add(4096 * 10).read(), 9);
            allocator.dealloc(
                grown,
                Layout::from_size_align((256 << 30) + 4096, 8).unwrap(),
            );
        }
    }

    #[test]
    fn small_blocks_go_to_the_wrapped_allocator() {
        let allocator = ReserveLazily(System);
        let layout = Layout::from_size_align(64, 8).unwrap();
        // SAFETY: as above.
        unsafe {
            let block = allocator.alloc(layout);
            assert!(!block.is_null());
            block.write(1);
            let grown = allocator.realloc(block, layout, 128);
            assert_eq!(grown.read(), 1);
            allocator.dealloc(grown, Layout::from_size_align(128, 8).unwrap());
        }
    }
}
