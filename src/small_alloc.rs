//! The client and verifier entries' wasm allocator: power-of-two size
//! classes, one free list per class, memory from `memory.grow`.
//!
//! Why not talc (the allocator of the server entry, src/wasm/mod.rs):
//! measured on the client entry, this one is 817 B raw and 472 B gzip
//! smaller (95,715 -> 94,898 / 43,603 -> 43,131), on the verifier entry
//! 681 B raw and 455 B gzip (64,649 -> 63,968 / 30,492 -> 30,037) and 2-3 %
//! faster per token (wasm-only check + finish), and both its operations
//! are O(1). What it
//! gives up: freed blocks are reused only by requests of the same class
//! (no splitting, no coalescing), and a request takes the whole power of two
//! it rounds up to. The client core holds little at a time (an event's JSON,
//! its answer, an answer body of at most 256 KiB:
//! `oauth::session::MAX_BODY_LEN`), so its memory stays bounded by the peak
//! of each class: a few hundred kB.
//!
//! The verifier lives as long as its server process. Its memory is bounded
//! the same way: by the peak of each class over the process's life, each at
//! most twice the bytes live in that class at its peak. What is live at
//! once is bounded by its options: one JWK Set body (at most
//! `maxBodyBytes`, its copy and the parsed keys), the key sets it holds
//! (one per source, at most 100 keys each), one token (`MaxTokenLength`)
//! and the verified-token memory (`verifiedTokenCacheSize` entries). A
//! rotation frees the old set into its classes and the next one of a
//! similar size reuses them: measured over 60-200 rotations with bodies of
//! every size up to the cap and 1,000 remembered tokens, the memory stops
//! at 5.2-5.3 MiB (64 KiB cap) and 6.2-7.2 MiB (1 MiB cap), where talc's
//! stopped at 4.0-4.3 and 5.2-11.9 MiB (issue 16's notes).
//!
//! Blocks of a class are aligned to their size, up to [`MAX_ALIGN`]; a
//! layout that asks for more alignment (no type of this crate does) is
//! refused (null: the allocation error aborts).

// The only unsafe code of the crate besides the wasm boundary
// (src/wasm/abi.rs): an allocator hands out raw memory.
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr::null_mut;

/// A wasm page.
pub const PAGE: usize = 65_536;
/// The largest alignment handed out.
pub const MAX_ALIGN: usize = 16;
/// Size classes: `1 << class` bytes, `class` below this.
const CLASSES: usize = usize::BITS as usize - 1;

/// Where memory comes from.
pub trait Pages {
    /// Adds `pages` pages at the end of memory; answers the previous size
    /// in pages (`memory.grow`), `None` when memory cannot grow.
    fn grow(&self, pages: usize) -> Option<usize>;
}

/// The wasm module's own memory (in the client and verifier entries'
/// builds, where src/wasm/mod.rs installs the allocator).
#[cfg(all(
    target_arch = "wasm32",
    any(feature = "client", feature = "verifier"),
    not(feature = "server")
))]
pub struct WasmMemory;

#[cfg(all(
    target_arch = "wasm32",
    any(feature = "client", feature = "verifier"),
    not(feature = "server")
))]
impl Pages for WasmMemory {
    fn grow(&self, pages: usize) -> Option<usize> {
        let old = core::arch::wasm32::memory_grow::<0>(pages);
        (old != usize::MAX).then_some(old)
    }
}

/// The allocator (see the module docs). Single-threaded: the client and
/// verifier entries are built for wasm without atomics.
pub struct SizeClasses<P> {
    pages: P,
    state: UnsafeCell<State>,
}

struct State {
    /// The first free block of each class (0: none); each free block's
    /// first word is the next one's address.
    free: [usize; CLASSES],
    /// Memory from `top` to `end` is not handed out yet.
    top: usize,
    end: usize,
}

// SAFETY: only instantiated as the global allocator of a wasm module
// without atomics (one thread), and in single-threaded tests.
unsafe impl<P: Pages> Sync for SizeClasses<P> {}

/// The class of `layout`: `1 << class` bytes hold it with its alignment and
/// a free-list link. `None` for an alignment over [`MAX_ALIGN`] or a size
/// no class holds.
fn class(layout: Layout) -> Option<usize> {
    if layout.align() > MAX_ALIGN {
        return None;
    }
    let size = layout
        .size()
        .max(layout.align())
        .max(core::mem::size_of::<usize>());
    let class = (usize::BITS - (size - 1).leading_zeros()) as usize;
    (class < CLASSES).then_some(class)
}

impl<P: Pages> SizeClasses<P> {
    /// An allocator that has handed out nothing yet.
    pub const fn new(pages: P) -> Self {
        Self {
            pages,
            state: UnsafeCell::new(State {
                free: [0; CLASSES],
                top: 0,
                end: 0,
            }),
        }
    }
}

unsafe impl<P: Pages> GlobalAlloc for SizeClasses<P> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = class(layout) else {
            return null_mut();
        };
        // SAFETY: one thread, and nothing here allocates again (no
        // reentrancy): this is the only reference to the state.
        let state = unsafe { &mut *self.state.get() };
        let Some(head) = state.free.get_mut(class) else {
            return null_mut();
        };
        if *head != 0 {
            let block = *head;
            // SAFETY: `block` is a free block of this class; `dealloc`
            // wrote the next one's address in its first word.
            *head = unsafe { (block as *const usize).read() };
            return block as *mut u8;
        }
        let size = 1usize << class;
        let align = size.min(MAX_ALIGN);
        loop {
            let start = (state.top + (align - 1)) & !(align - 1);
            let Some(end) = start.checked_add(size) else {
                return null_mut();
            };
            if end <= state.end {
                state.top = end;
                return start as *mut u8;
            }
            let pages = (end - state.end).div_ceil(PAGE);
            let Some(old) = self.pages.grow(pages) else {
                return null_mut();
            };
            if old * PAGE != state.end {
                // The first growth (the module's initial memory holds its
                // data and stack): start on the new pages.
                state.top = old * PAGE;
            }
            state.end = (old + pages) * PAGE;
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as in `alloc`.
        let state = unsafe { &mut *self.state.get() };
        if let Some(head) = class(layout).and_then(|c| state.free.get_mut(c)) {
            // SAFETY: `ptr` is a block `alloc` gave for this layout: of
            // this class, so at least a word long and word-aligned.
            unsafe { (ptr as *mut usize).write(*head) };
            *head = ptr as usize;
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `GlobalAlloc::realloc`'s contract: `new_size`, rounded up
        // to `layout.align()`, does not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if class(new_layout).is_some() && class(new_layout) == class(layout) {
            // The block holds the new size too.
            return ptr;
        }
        // SAFETY: as `GlobalAlloc::realloc`'s default.
        unsafe {
            let new = self.alloc(new_layout);
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use core::cell::Cell;

    /// Pages from a buffer of this process, `limit` at most.
    struct Fake {
        _buffer: Vec<u8>,
        first: usize,
        used: Cell<usize>,
        limit: usize,
    }

    impl Fake {
        fn new(limit: usize) -> Self {
            let buffer = vec![0u8; (limit + 1) * PAGE];
            let first = (buffer.as_ptr() as usize).div_ceil(PAGE);
            Self {
                _buffer: buffer,
                first,
                used: Cell::new(0),
                limit,
            }
        }
    }

    impl Pages for &Fake {
        fn grow(&self, pages: usize) -> Option<usize> {
            let used = self.used.get();
            if used + pages > self.limit {
                return None;
            }
            self.used.set(used + pages);
            Some(self.first + used)
        }
    }

    /// A small deterministic generator (xorshift).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, below: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % below
        }
    }

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    fn filled(ptr: *mut u8, size: usize, tag: u8) -> bool {
        (0..size).all(|i| unsafe { *ptr.add(i) } == tag)
    }

    #[test]
    fn classes_round_up_to_powers_of_two_with_room_for_a_link() {
        let word = core::mem::size_of::<usize>();
        assert_eq!(class(layout(0, 1)), class(layout(word, 1)));
        assert_eq!(class(layout(1, 1)).map(|c| 1 << c), Some(word));
        assert_eq!(class(layout(17, 1)), Some(5));
        assert_eq!(class(layout(32, 1)), Some(5));
        assert_eq!(class(layout(33, 1)), Some(6));
        assert_eq!(class(layout(3, 16)), Some(4));
        assert_eq!(class(layout(8, 32)), None);
        assert_eq!(class(layout(usize::MAX / 2, 1)), None);
    }

    #[test]
    fn blocks_never_overlap_keep_their_bytes_and_are_aligned() {
        let fake = Fake::new(256);
        let heap = SizeClasses::new(&fake);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // (pointer, layout, fill byte)
        let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
        for step in 0..20_000u32 {
            // Mostly small blocks, up to a few hundred live at a time.
            let op = if live.len() > 300 { 6 } else { rng.next(10) };
            match op {
                0..=4 => {
                    let size = match rng.next(20) {
                        0 => rng.next(70_000) as usize,
                        1..=4 => rng.next(1_000) as usize,
                        _ => rng.next(48) as usize,
                    };
                    let align = 1 << rng.next(5);
                    let l = layout(size, align);
                    let ptr = unsafe { heap.alloc(l) };
                    assert!(!ptr.is_null(), "step {step}: {l:?}");
                    assert_eq!(ptr as usize % align, 0, "step {step}: {l:?}");
                    let tag = (step % 251) as u8 + 1;
                    unsafe { core::ptr::write_bytes(ptr, tag, size) };
                    live.push((ptr, l, tag));
                }
                5..=7 if !live.is_empty() => {
                    let (ptr, l, tag) = live.swap_remove(rng.next(live.len() as u64) as usize);
                    assert!(
                        filled(ptr, l.size(), tag),
                        "step {step}: a block was overwritten"
                    );
                    unsafe { heap.dealloc(ptr, l) };
                }
                _ if !live.is_empty() => {
                    let i = rng.next(live.len() as u64) as usize;
                    let (ptr, l, tag) = live[i];
                    let new_size = rng.next(3_000) as usize;
                    let moved = unsafe { heap.realloc(ptr, l, new_size) };
                    assert!(!moved.is_null());
                    assert_eq!(moved as usize % l.align(), 0);
                    assert!(
                        filled(moved, l.size().min(new_size), tag),
                        "step {step}: realloc lost bytes"
                    );
                    unsafe { core::ptr::write_bytes(moved, tag, new_size) };
                    live[i] = (moved, layout(new_size, l.align()), tag);
                }
                _ => {}
            }
        }
        for (ptr, l, tag) in live {
            assert!(filled(ptr, l.size(), tag));
            unsafe { heap.dealloc(ptr, l) };
        }
    }

    #[test]
    fn freed_blocks_are_reused_so_memory_stays_bounded() {
        let fake = Fake::new(4);
        let heap = SizeClasses::new(&fake);
        for size in [10usize, 300, 5_000, 40_000] {
            for _ in 0..10_000 {
                let l = layout(size, 8);
                let ptr = unsafe { heap.alloc(l) };
                assert!(!ptr.is_null());
                unsafe { heap.dealloc(ptr, l) };
            }
        }
        assert!(fake.used.get() <= 2, "{} pages", fake.used.get());
    }

    #[test]
    fn refuses_what_it_cannot_give() {
        let fake = Fake::new(2);
        let heap = SizeClasses::new(&fake);
        assert!(unsafe { heap.alloc(layout(8, 32)) }.is_null());
        assert!(unsafe { heap.alloc(layout(3 * PAGE, 8)) }.is_null());
        let small = unsafe { heap.alloc(layout(100, 8)) };
        assert!(!small.is_null());
        // Growing in place within the class keeps the block; past it, the
        // allocator gives up without touching the old block.
        assert_eq!(unsafe { heap.realloc(small, layout(100, 8), 128) }, small);
        assert!(unsafe { heap.realloc(small, layout(128, 8), 3 * PAGE) }.is_null());
    }
}
