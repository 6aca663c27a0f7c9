//! The allocator the `wormsim` binaries install: the system allocator, with
//! large blocks advised for transparent huge pages; and the crate's other
//! memory helpers (how a large vector grows, `reserve_for_push`; a cache
//! hint, `prefetch`).
//!
//! The engines reach their per-host arrays at random (the host an infection
//! lands on, the infector drawn, the positions in the sets). Over tens of
//! megabytes of 4 KiB pages nearly every such access also misses the TLB;
//! with 2 MiB pages the page walks go. Linux backs a region with huge pages
//! only when asked (`/sys/kernel/mm/transparent_hugepage/enabled` is usually
//! `madvise`), so [`HugePages`] asks, with `madvise(MADV_HUGEPAGE)`, for the
//! whole huge pages inside every block of at least [`MIN_BLOCK`] bytes.
//! Measured in `bench/RESULTS.md` ("Huge pages for large blocks"). Elsewhere
//! than Linux it is the system allocator.
//!
//! The advice changes no result: it is a hint about how to back memory. The
//! `wormsim` binary and `wormsim-bench` install it with `#[global_allocator]`;
//! the library itself allocates with whatever allocator its user installs.

use std::alloc::{GlobalAlloc, Layout, System};

/// Size of a transparent huge page on x86-64 and most arm64 kernels [bytes].
pub const HUGE_PAGE: usize = 2 << 20;

/// Smallest block advised [bytes]: one huge page. Only the whole, aligned
/// huge pages inside a block are advised: blocks are not over-aligned, which
/// would cost a copy (and twice the memory at that moment) each time a large
/// vector grows.
pub const MIN_BLOCK: usize = HUGE_PAGE;

/// Elements past which a vector that must grow reserves room for all it can
/// hold instead of doubling (64 Ki: 256 KiB of `u32`): see [`reserve_for_push`].
pub(crate) const GROW_TO_LIMIT: usize = 1 << 16;

/// Make room in `v` for one more element, as `Vec::push` would, except that
/// once the vector holds [`GROW_TO_LIMIT`] elements it reserves room for
/// `limit` at once. Doubling a large vector leaves each smaller block behind:
/// freed, but still resident in the allocator's heap, or copied beside the
/// new one. A reservation made once costs only address space, since Linux
/// makes a page resident only when it is first written. At 10 million hosts
/// this took 3.9 bytes per host off the peak of the general engine's sets
/// (bench/RESULTS.md, "A set's growth, the infection start times, and the
/// re-infection position"); the flood meter's open floods grow the same way.
#[inline]
pub(crate) fn reserve_for_push<T>(v: &mut Vec<T>, limit: usize) {
    if v.len() == v.capacity() && v.len() >= GROW_TO_LIMIT && limit > v.len() {
        v.reserve_exact(limit - v.len());
    }
}

/// Ask the processor to bring `r` into its cache: a hint, which changes
/// nothing the program computes (a no-op off x86-64).
#[inline]
pub(crate) fn prefetch<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: SSE is part of every x86-64 target, and a prefetch never
        // faults nor changes memory; the pointer comes from a live reference.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((r as *const T).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

/// The system allocator, advising blocks of [`MIN_BLOCK`] bytes or more for
/// transparent huge pages.
#[derive(Clone, Copy, Debug, Default)]
pub struct HugePages;

/// Advise the whole huge pages inside `[p, p + size)` for transparent huge
/// pages. Returns whether the kernel accepted the advice (false for a block
/// smaller than [`MIN_BLOCK`] or holding no aligned huge page, off Linux, or
/// if THP is compiled out of the kernel).
pub fn advise(p: *mut u8, size: usize) -> bool {
    if p.is_null() || size < MIN_BLOCK {
        return false;
    }
    let start = (p as usize).next_multiple_of(HUGE_PAGE);
    let end = (p as usize).saturating_add(size) / HUGE_PAGE * HUGE_PAGE;
    if end <= start {
        return false;
    }
    madvise_huge(start, end - start)
}

#[cfg(target_os = "linux")]
fn madvise_huge(start: usize, len: usize) -> bool {
    // SAFETY: `[start, start + len)` lies inside a block the allocator has
    // just handed out and that stays allocated for the call; MADV_HUGEPAGE
    // only sets a flag on the mapping and never changes its contents.
    unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn madvise_huge(_start: usize, _len: usize) -> bool {
    false
}

// SAFETY: every method delegates to `System` with the caller's arguments;
// the advice only flags the mapping and never touches the memory.
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc`, passed on.
        let p = unsafe { System.alloc(layout) };
        advise(p, layout.size());
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        let p = unsafe { System.alloc_zeroed(layout) };
        advise(p, layout.size());
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc`, passed on. (The
        // system's realloc grows a large block by remapping it, without a
        // copy or a second copy in memory, so the peak stays where it was.)
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if new_size > layout.size() {
            advise(p, new_size);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The VmFlags of the mapping that holds `addr`, from /proc/self/smaps.
    fn vm_flags(addr: usize) -> Option<String> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or("");
            if let Some((a, b)) = first.split_once('-') {
                if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
                {
                    inside = a <= addr && addr < b;
                    continue;
                }
            }
            if inside && line.starts_with("VmFlags:") {
                return Some(line.to_string());
            }
        }
        None
    }

    #[test]
    fn small_blocks_are_not_advised() {
        let mut v = vec![0u8; MIN_BLOCK - 1];
        assert!(!advise(v.as_mut_ptr(), v.len()));
        assert!(!advise(std::ptr::null_mut(), 1 << 30));
    }

    /// A large block is advised: its aligned huge pages carry the kernel's
    /// `hg` (MADV_HUGEPAGE) flag. Skips, saying so, where the kernel has no
    /// transparent huge pages.
    #[test]
    fn a_large_block_is_marked_for_huge_pages() {
        if !std::path::Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists() {
            eprintln!("SKIP: this kernel has no transparent huge pages");
            return;
        }
        let mut v = vec![1u8; 3 * HUGE_PAGE];
        let p = v.as_mut_ptr();
        assert!(advise(p, v.len()));
        let inside = (p as usize).next_multiple_of(HUGE_PAGE);
        let flags = vm_flags(inside).expect("mapping in /proc/self/smaps");
        assert!(flags.split_whitespace().any(|f| f == "hg"), "{flags}");
        assert_eq!(v[3 * HUGE_PAGE - 1], 1);
    }

    /// The allocator hands out aligned, writable memory that keeps its
    /// contents through growth and shrinking, for small and large blocks and
    /// across the threshold either way.
    #[test]
    fn it_allocates_like_the_system_allocator() {
        let a = HugePages;
        let cases = [
            (24, 48, 8),
            (4096, 8192, 64),
            (MIN_BLOCK - 8, 2 * MIN_BLOCK, 8),
            (MIN_BLOCK + 5, 2 * MIN_BLOCK, 16),
            (3 * HUGE_PAGE, 100, 4096),
            (3 * HUGE_PAGE, MIN_BLOCK, 8),
        ];
        for (size, new_size, align) in cases {
            let layout = Layout::from_size_align(size, align).unwrap();
            // SAFETY: non-zero sizes; every block is freed once, with the
            // layout it has.
            unsafe {
                let p = a.alloc(layout);
                assert!(!p.is_null() && p as usize % align == 0);
                p.write_bytes(7, size);
                let q = a.realloc(p, layout, new_size);
                assert!(!q.is_null() && q as usize % align == 0);
                let kept = size.min(new_size);
                assert_eq!(*q, 7);
                assert_eq!(*q.add(kept - 1), 7);
                a.dealloc(q, Layout::from_size_align(new_size, align).unwrap());
                let z = a.alloc_zeroed(layout);
                assert_eq!(*z.add(size - 1), 0);
                a.dealloc(z, layout);
            }
        }
    }
}
