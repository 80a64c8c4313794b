//! The process allocator: the system allocator, except that very large requests are served by
//! lazily-backed anonymous mappings.
//!
//! Why: the protocol decoder pre-allocates arrays from the count on the wire
//! (`Vec::with_capacity(n)`), so a 30-byte frame claiming 2^31 elements asks for ~150 GB and
//! the failed allocation aborts the broker. A `MAP_NORESERVE` mapping reserves address space
//! only; decoding then fails on the missing bytes and the mapping is dropped, untouched.

use std::alloc::{GlobalAlloc, Layout, System};

/// Requests at or above this size bypass malloc.
const HUGE: usize = 1 << 30;

pub struct BrokerAllocator;

unsafe impl GlobalAlloc for BrokerAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= HUGE && layout.align() <= page_size() {
            map_huge(layout.size())
        } else {
            System.alloc(layout)
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= HUGE && layout.align() <= page_size() {
            libc::munmap(ptr.cast(), layout.size());
        } else {
            System.dealloc(ptr, layout)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= HUGE && layout.align() <= page_size() {
            map_huge(layout.size()) // anonymous mappings are zero-filled
        } else {
            System.alloc_zeroed(layout)
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let huge_before = layout.size() >= HUGE && layout.align() <= page_size();
        let huge_after = new_size >= HUGE && layout.align() <= page_size();
        if !huge_before && !huge_after {
            return System.realloc(ptr, layout, new_size);
        }
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let new_ptr = self.alloc(new_layout);
        if !new_ptr.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new_ptr, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new_ptr
    }
}

/// Hands freed heap memory back to the operating system (glibc's `malloc_trim`), which
/// otherwise keeps it for reuse: called after a wave of closed connections, so a broker
/// that served 1,000 clients once does not hold their buffers for the rest of its life.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas under their locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn page_size() -> usize {
    4096
}

unsafe fn map_huge(size: usize) -> *mut u8 {
    let p = libc::mmap(
        std::ptr::null_mut(),
        size,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
        -1,
        0,
    );
    if p == libc::MAP_FAILED {
        std::ptr::null_mut()
    } else {
        p.cast()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn absurd_capacity_does_not_abort() {
        // 2^31 elements of 72 bytes: what a hostile array count makes the decoder ask for.
        let v: Vec<[u64; 9]> = Vec::with_capacity(i32::MAX as usize);
        assert!(v.capacity() >= i32::MAX as usize);
    }
}
