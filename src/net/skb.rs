// SPDX-License-Identifier: GPL-2.0

//! Socket buffers (`include/linux/skbuff.h`): an owned `sk_buff`.

use crate::klib::bindings;
use crate::klib::net;
use crate::klib::net::page_pool::PoolFrag;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use kernel::error::to_result;
use kernel::prelude::*;

/// TCP segmentation offload parameters of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpGso {
    /// IPv6 (`SKB_GSO_TCPV6`) rather than IPv4 (`SKB_GSO_TCPV4`).
    pub v6: bool,
    /// ECN (`SKB_GSO_TCP_ECN`).
    pub ecn: bool,
    /// Segment payload size (`gso_size`), non-zero.
    pub mss: u16,
}

/// An owned socket buffer. Dropping it frees it as dropped
/// (`dev_kfree_skb_any`); [`SkBuff::consume`] frees it as delivered.
///
/// # Invariants
///
/// `skb` points to a valid `sk_buff` that this object owns.
pub struct SkBuff(NonNull<bindings::sk_buff>);

// SAFETY: An owned skb may be passed between threads.
unsafe impl Send for SkBuff {}

impl SkBuff {
    /// Takes ownership of `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid `sk_buff` whose ownership the caller hands over.
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::sk_buff) -> Self {
        // SAFETY: The caller passes a valid, hence non-null, pointer.
        Self(unsafe { NonNull::new_unchecked(ptr) })
    }

    /// Gives up ownership and returns the raw pointer.
    pub(crate) fn into_raw(self) -> *mut bindings::sk_buff {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        p
    }

    fn as_raw(&self) -> *mut bindings::sk_buff {
        self.0.as_ptr()
    }

    /// Length of the packet in bytes (head and fragments).
    pub fn len(&self) -> u32 {
        // SAFETY: Valid skb (type invariant).
        unsafe { (*self.as_raw()).len }
    }

    /// Whether the packet is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The transmit queue the stack chose (`skb_get_queue_mapping`).
    pub fn queue_mapping(&self) -> u16 {
        // SAFETY: Valid skb (type invariant).
        unsafe { bindings::skb_get_queue_mapping(self.as_raw()) }
    }

    /// Whether the stack left the checksum to the device
    /// (`CHECKSUM_PARTIAL`).
    pub fn csum_partial(&self) -> bool {
        // SAFETY: Valid skb (type invariant).
        u32::from(unsafe { bindings::ntbnet_skb_ip_summed(self.as_raw()) })
            == bindings::CHECKSUM_PARTIAL
    }

    /// Whether the checksums were verified (`CHECKSUM_UNNECESSARY`).
    pub fn csum_unnecessary(&self) -> bool {
        // SAFETY: Valid skb (type invariant).
        u32::from(unsafe { bindings::ntbnet_skb_ip_summed(self.as_raw()) })
            == bindings::CHECKSUM_UNNECESSARY
    }

    /// The TCP segmentation the stack left to the device, if this is a GSO
    /// packet (`skb_shinfo(skb)->gso_*`). `EINVAL` for another kind of GSO,
    /// which a device that only offers TSO never gets.
    pub fn tcp_gso(&self) -> Result<Option<TcpGso>> {
        let (mut mss, mut v6, mut ecn) = (0u16, false, false);
        // SAFETY: Valid skb (type invariant); the outputs are valid.
        let r = unsafe { bindings::ntbnet_skb_tcp_gso(self.as_raw(), &mut mss, &mut v6, &mut ecn) };
        match r {
            0 => Ok(None),
            1 => Ok(Some(TcpGso { v6, ecn, mss })),
            _ => Err(EINVAL),
        }
    }

    /// Marks a received packet (after [`Self::eth_type_trans`]) as one TCP
    /// segment of a peer's segmentation offload, for the stack to treat as
    /// a GRO packet. The values are untrusted (`SKB_GSO_DODGY`): the core
    /// checks the headers again if it has to segment. `EINVAL` if the
    /// packet is not of the IP version `gso` names.
    pub fn set_tcp_gso(&mut self, gso: TcpGso) -> Result {
        // SAFETY: Valid skb, owned by us (type invariant), not yet handed
        // to the stack.
        to_result(unsafe {
            bindings::ntbnet_skb_set_tcp_gso(self.as_raw(), gso.mss, gso.v6, gso.ecn)
        })
    }

    /// Computes the checksum the stack left to the device
    /// (`skb_checksum_help`).
    pub fn checksum_help(&mut self) -> Result {
        // SAFETY: Valid skb, owned by us (type invariant).
        to_result(unsafe { bindings::skb_checksum_help(self.as_raw()) })
    }

    /// Calls `f` on each piece of the packet's data in order: the linear
    /// head, then each page fragment. Fragment lists are not followed: a
    /// device without `NETIF_F_FRAGLIST` never gets them.
    pub fn for_each_chunk(&self, mut f: impl FnMut(&[u8]) -> Result) -> Result {
        let skb = self.as_raw();
        // SAFETY: Valid skb (type invariant): `data` holds `headlen` bytes.
        let head = unsafe {
            core::slice::from_raw_parts((*skb).data, bindings::skb_headlen(skb) as usize)
        };
        f(head)?;
        // SAFETY: Valid skb.
        let nr = unsafe { bindings::ntbnet_skb_nr_frags(skb) };
        for i in 0..nr {
            let mut len = 0u32;
            // SAFETY: `i < nr_frags`; a fragment's page is mapped in the
            // kernel's linear map (64-bit kernels have no highmem) and holds
            // `len` bytes from the returned address.
            let chunk = unsafe {
                let p = bindings::ntbnet_skb_frag(skb, i, &mut len);
                if p.is_null() {
                    return Err(EINVAL);
                }
                core::slice::from_raw_parts(p.cast::<u8>(), len as usize)
            };
            f(chunk)?;
        }
        Ok(())
    }

    /// Appends `len` bytes to the head, filled by `fill`, which must
    /// initialise the whole slice it is given (`skb_put`). Fails with
    /// `ENOSPC` if the tailroom is short.
    pub fn put_with(
        &mut self,
        len: u32,
        fill: impl FnOnce(&mut [MaybeUninit<u8>]) -> Result,
    ) -> Result {
        let skb = self.as_raw();
        // SAFETY: Valid skb; tailroom = end - tail (offsets on 64-bit).
        let room = unsafe { (*skb).end.saturating_sub((*skb).tail) };
        if len > room {
            return Err(ENOSPC);
        }
        // SAFETY: There is room for `len` bytes, so `skb_put` does not
        // panic; it returns the start of the new, uninitialised area.
        let p = unsafe { bindings::skb_put(skb, len) };
        // SAFETY: `p` points to `len` bytes owned by the skb.
        let area = unsafe { core::slice::from_raw_parts_mut(p.cast(), len as usize) };
        fill(area)
    }

    /// Appends `len` bytes (at most a page) as a new page fragment, filled
    /// by `fill`, which must initialise the whole slice it is given
    /// (`skb_add_rx_frag`). For receive skbs, in atomic context.
    pub fn append_page_with(
        &mut self,
        len: u32,
        fill: impl FnOnce(&mut [MaybeUninit<u8>]) -> Result,
    ) -> Result {
        let skb = self.as_raw();
        if len == 0 || len as usize > kernel::page::PAGE_SIZE {
            return Err(EINVAL);
        }
        // SAFETY: Valid skb (type invariant).
        if unsafe { bindings::ntbnet_skb_nr_frags(skb) >= bindings::ntbnet_max_skb_frags() } {
            return Err(ENOSPC);
        }
        let mut addr = core::ptr::null_mut();
        // SAFETY: `addr` is a valid output; NULL on failure.
        let page = unsafe { bindings::ntbnet_alloc_rx_page(&mut addr) };
        if page.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: A fresh page, mapped at `addr` (no highmem on 64-bit), of
        // `PAGE_SIZE >= len` bytes, private until handed to the skb.
        let area = unsafe { core::slice::from_raw_parts_mut(addr.cast(), len as usize) };
        if let Err(e) = fill(area) {
            // SAFETY: The page is ours and was not handed over.
            unsafe { bindings::ntbnet_free_page(page) };
            return Err(e);
        }
        // SAFETY: Valid skb with a free fragment slot (checked above); the
        // skb takes the page's reference.
        unsafe { bindings::ntbnet_skb_add_rx_page(skb, page, len) };
        Ok(())
    }

    /// Appends a filled page pool fragment as the skb's next fragment,
    /// charged at the fragment's own size, and marks the skb for recycling
    /// (its pool pages go back to their pool when it is freed). `ENOSPC`
    /// (the fragment goes back to the pool) if the skb has no free slot.
    pub fn append_frag(&mut self, frag: PoolFrag<'_>) -> Result {
        let skb = self.as_raw();
        // SAFETY: Valid skb (type invariant).
        if unsafe { bindings::ntbnet_skb_nr_frags(skb) >= bindings::ntbnet_max_skb_frags() } {
            return Err(ENOSPC);
        }
        let (page, off, len, truesize) = frag.into_raw();
        // SAFETY: Valid skb with a free fragment slot (checked above); the
        // skb takes the fragment's page reference (`PoolFrag` invariant:
        // `len <= truesize` bytes at `off`), and, marked for recycling,
        // returns it to its pool when freed.
        unsafe { bindings::ntbnet_skb_add_pool_frag(skb, page.as_ptr(), off, len, truesize) };
        Ok(())
    }

    /// Sets the protocol from the Ethernet header and pulls the header
    /// (`eth_type_trans`). The packet must hold at least an Ethernet header.
    pub fn eth_type_trans(&mut self, dev: &net::Device) -> Result {
        // SAFETY: Valid skb (type invariant).
        if unsafe { bindings::skb_headlen(self.as_raw()) } < net::ETH_HLEN {
            return Err(EINVAL);
        }
        // SAFETY: Valid skb with a full Ethernet header in its head; `dev`
        // is an allocated device.
        unsafe { bindings::ntbnet_eth_type_trans(self.as_raw(), dev.as_raw()) };
        Ok(())
    }

    /// Marks the checksums as verified (`CHECKSUM_UNNECESSARY`).
    pub fn set_csum_unnecessary(&mut self) {
        // SAFETY: Valid skb (type invariant).
        unsafe { bindings::ntbnet_skb_csum_unnecessary(self.as_raw()) }
    }

    /// Records the receive queue (`skb_record_rx_queue`).
    pub fn record_rx_queue(&mut self, q: u16) {
        // SAFETY: Valid skb (type invariant).
        unsafe { bindings::skb_record_rx_queue(self.as_raw(), q) }
    }

    /// Frees the packet as delivered (`dev_consume_skb_any`).
    pub fn consume(self) {
        // SAFETY: We own the skb; any context.
        unsafe { bindings::dev_consume_skb_any(self.into_raw()) }
    }
}

impl Drop for SkBuff {
    fn drop(&mut self) {
        // SAFETY: We own the skb; any context.
        unsafe { bindings::dev_kfree_skb_any(self.as_raw()) }
    }
}
