// SPDX-License-Identifier: GPL-2.0

//! Memory access: one [`Io`] trait, in the shape of upstream `kernel::io::Io`
//! (6.14+), over every kind of memory ntbnet reads and writes:
//!
//! - `mmio`: device memory mapped uncached ([`mmio::IoMem`]) or
//!   write-combining ([`mmio::IoMemWc`], an NTB's outbound window);
//! - `coherent`: coherent DMA buffers (an NTB's inbound window);
//! - `shm`: shared memory mapped write-back (the virtual NTB's region).
//!
//! One argument order (value, then offset, as upstream), one error policy
//! (`EINVAL` for any access outside the memory or misaligned, nothing
//! done), bounds checked on every access. Memory that a peer writes is
//! read with volatile loads or with [`copy_from_shared`], the one copy
//! primitive for it.

pub mod coherent;
pub mod mmio;
pub mod shm;

use crate::klib::bindings;
use core::mem::MaybeUninit;
use kernel::prelude::*;

/// Memory reached by byte offset, every access bounds-checked.
pub trait Io {
    /// Size in bytes.
    fn maxsize(&self) -> usize;

    /// Reads the 32-bit word at `offset` (4-byte aligned), once.
    fn try_read32(&self, offset: usize) -> Result<u32>;

    /// Writes `value` as the 32-bit word at `offset` (4-byte aligned).
    fn try_write32(&self, value: u32, offset: usize) -> Result;

    /// Copies `src` to `offset`.
    fn try_write_bytes(&self, src: &[u8], offset: usize) -> Result;

    /// Checks that `len` bytes at `offset`, aligned to `align`, lie inside
    /// the memory; returns `offset`.
    fn check(&self, offset: usize, len: usize, align: usize) -> Result<usize> {
        check(offset, len, align, self.maxsize())
    }
}

/// Checks that `len` bytes at `offset`, aligned to `align` (a power of
/// two, or 1), lie inside `maxsize` bytes.
pub fn check(offset: usize, len: usize, align: usize, maxsize: usize) -> Result<usize> {
    match offset.checked_add(len) {
        Some(end) if end <= maxsize && offset & align.wrapping_sub(1) == 0 => Ok(offset),
        _ => Err(EINVAL),
    }
}

/// Copies `dst.len()` bytes from `src` into `dst`: the one primitive that
/// reads bulk memory a peer may write concurrently (window contents).
///
/// The copy is done by the kernel's C `memcpy`, behind a call that the
/// Rust compiler cannot see into: it cannot read the source again after
/// the call, or fold a later use of `dst` back into a read of the source
/// (which a Rust `copy_nonoverlapping` would allow it to assume stable).
/// Each source byte is read once; the copy is not atomic, so a racing
/// writer can leave any mix of old and new bytes. Callers check the copy,
/// never the source.
///
/// # Safety
///
/// `src` must be valid for reads of `dst.len()` bytes for the duration of
/// the call (memory that stays mapped; its contents may change).
pub unsafe fn copy_from_shared(dst: &mut [MaybeUninit<u8>], src: *const u8) {
    // SAFETY: `dst` is private memory of that length; the caller
    // guarantees `src`. The helper is an out-of-line `memcpy`.
    unsafe { bindings::ntbnet_copy_from_shared(dst.as_mut_ptr().cast(), src.cast(), dst.len()) }
}
