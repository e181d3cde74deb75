// SPDX-License-Identifier: GPL-2.0

//! Page pools (`include/net/page_pool/`): receive memory that the stack
//! gives back to the pool it came from when it frees the skb, and whose
//! skb truesize is the fragment's size rather than a power-of-two
//! allocation's.

use crate::klib::bindings;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use kernel::prelude::*;

/// A page pool of pages of `PAGE_SIZE << order` bytes, split into
/// fragments, without DMA mapping (the CPU fills them), recycling through
/// its ring (not directly from a NAPI context).
///
/// Allocation takes `&mut self`: the pool's allocation cache is lockless
/// and must be used by one context at a time (the receive path, under its
/// lock). Pages come back from any context through the ring.
///
/// # Invariants
///
/// `pool` is a page pool created by `page_pool_create`, destroyed on drop.
pub struct PagePool {
    pool: NonNull<bindings::page_pool>,
    frag_max: u32,
}

// SAFETY: The pool may be used and destroyed from any thread; allocation
// needs `&mut self`, so one context at a time.
unsafe impl Send for PagePool {}

/// A fragment of a pool page: `len` bytes at `off`, owned until handed to
/// an skb ([`crate::klib::net::skb::SkBuff::append_frag`]) or dropped (back to
/// the pool).
///
/// # Invariants
///
/// `page` holds one fragment reference of `pool`'s page, for `truesize >=
/// len` bytes at `off`, mapped at `addr` (no highmem on 64-bit).
pub struct PoolFrag<'a> {
    pool: &'a PagePool,
    pub(crate) page: NonNull<bindings::page>,
    pub(crate) off: u32,
    pub(crate) len: u32,
    pub(crate) truesize: u32,
    addr: NonNull<u8>,
}

impl PagePool {
    /// A pool of pages of order `order` keeping up to `size` of them
    /// cached. Process context.
    pub fn new(order: u32, size: u32) -> Result<Self> {
        // SAFETY: No preconditions; NULL on failure.
        let p = unsafe { bindings::ntbnet_page_pool_create(order, size) };
        // INVARIANT: A pool created by `page_pool_create`.
        Ok(Self {
            pool: NonNull::new(p).ok_or(ENOMEM)?,
            frag_max: (kernel::page::PAGE_SIZE as u32) << order,
        })
    }

    /// The largest fragment the pool gives.
    pub fn frag_max(&self) -> u32 {
        self.frag_max
    }

    /// A fragment of `len` bytes (at most [`Self::frag_max`]), in atomic
    /// context; `None` if the memory is short.
    pub fn alloc_frag(&mut self, len: u32) -> Option<PoolFrag<'_>> {
        if len == 0 || len > self.frag_max {
            return None;
        }
        let (mut off, mut truesize) = (0u32, 0u32);
        let mut addr = core::ptr::null_mut();
        // SAFETY: The pool is valid (type invariant) and used by this
        // context alone (`&mut self`); the outputs are valid.
        let page = unsafe {
            bindings::ntbnet_page_pool_alloc_frag(
                self.pool.as_ptr(),
                len,
                &mut off,
                &mut truesize,
                &mut addr,
            )
        };
        let page = NonNull::new(page)?;
        let addr = NonNull::new(addr.cast::<u8>())?;
        // INVARIANT: The helper returned one fragment reference of at
        // least `len` bytes at `addr`.
        Some(PoolFrag {
            pool: self,
            page,
            off,
            len,
            truesize: truesize.max(len),
            addr,
        })
    }
}

impl Drop for PagePool {
    fn drop(&mut self) {
        // SAFETY: Created by `page_pool_create`; every fragment borrowed
        // the pool and is gone; the pages still in skbs keep the pool's
        // memory until they come back (page_pool_destroy defers).
        unsafe { bindings::ntbnet_page_pool_destroy(self.pool.as_ptr()) }
    }
}

impl PoolFrag<'_> {
    /// The fragment's memory, to be filled before it goes into an skb.
    pub fn as_uninit_mut(&mut self) -> &mut [MaybeUninit<u8>] {
        // SAFETY: `len` bytes at `addr` belong to this fragment alone
        // (type invariant) until it is handed over.
        unsafe { core::slice::from_raw_parts_mut(self.addr.as_ptr().cast(), self.len as usize) }
    }

    /// Gives up the fragment reference, to an skb.
    pub(crate) fn into_raw(self) -> (NonNull<bindings::page>, u32, u32, u32) {
        let r = (self.page, self.off, self.len, self.truesize);
        core::mem::forget(self);
        r
    }
}

impl Drop for PoolFrag<'_> {
    fn drop(&mut self) {
        // SAFETY: We hold one fragment reference of this pool's page
        // (type invariant).
        unsafe { bindings::ntbnet_page_pool_put_frag(self.pool.pool.as_ptr(), self.page.as_ptr()) }
    }
}
