// SPDX-License-Identifier: GPL-2.0
//! The virtual NTB from the outside: a client of the ivshmem server (as a
//! QEMU `ivshmem-doorbell` device is one), the shared memory mapped, and the
//! layout of Documentation/ivshmem-ntb.md (written from the document, not
//! from hw/ivshmem/layout.rs).

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use ivshmem_server::proto;

pub const MAGIC: u64 = u64::from_le_bytes(*b"NTBIVSHM");
pub const VERSION: u32 = 2;
pub const HDR_MAGIC: usize = 0x00;
pub const HDR_VERSION: usize = 0x08;
pub const HDR_SIZE: usize = 0x10;
pub const HDR_PORTS: usize = 0x18;
pub const HDR_SPADS: usize = 0x1c;
pub const HDR_MWS: usize = 0x20;
pub const HDR_MW_SIZE: usize = 0x28;
pub const HDR_MW_OFFSET: usize = 0x30;
pub const PORT_SESSION: usize = 0x00;
pub const PORT_HEARTBEAT: usize = 0x04;
pub const PORT_LINK_ENABLED: usize = 0x08;
pub const PORT_SEEN: usize = 0x0c;
pub const PORT_SPADS: usize = 0x40;
const MIB: u64 = 1 << 20;

/// The shared-memory layout, version 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IvLayout {
    pub size: u64,
    pub ports: u32,
    pub spads: u32,
    pub mws: u32,
    pub mw_size: u64,
    pub mw_offset: u64,
}

impl IvLayout {
    /// The layout for `size` bytes. The document gives `mw_size` only by
    /// example; it is the largest multiple of 1 MiB for which both ports'
    /// windows (`mw_size`, `mw_size - 1 MiB`, ...) fit after the 1 MiB
    /// control area.
    pub fn for_size(size: u64) -> Option<Self> {
        let (ports, mws, mw_offset) = (2u64, 2u64, MIB);
        let avail = size.checked_sub(mw_offset)? / ports / MIB;
        // mws * g - (0 + 1 + ... + mws-1) <= avail
        let g = (avail + mws * (mws - 1) / 2) / mws;
        (g >= mws).then_some(Self {
            size,
            ports: ports as u32,
            spads: 64,
            mws: mws as u32,
            mw_size: g * MIB,
            mw_offset,
        })
    }

    /// Window `w` of port `p`: `mw_size - ((w - p) mod mws)` MiB (the
    /// document's formula mixes bytes and MiB).
    pub fn window_size(&self, p: u32, w: u32) -> u64 {
        let shrink = (w + self.mws - p % self.mws) % self.mws;
        self.mw_size - shrink as u64 * MIB
    }

    pub fn window(&self, p: u32, w: u32) -> u64 {
        let per_port: u64 = (0..self.mws).map(|i| self.window_size(p, i)).sum();
        let before: u64 = (0..w).map(|i| self.window_size(p, i)).sum();
        self.mw_offset + p as u64 * per_port + before
    }

    pub fn port_block(&self, p: u32) -> usize {
        0x1000 * (p as usize + 1)
    }

    pub fn spad(&self, p: u32, idx: usize) -> usize {
        self.port_block(p) + PORT_SPADS + 4 * idx
    }
}

/// A shared mapping of the whole shared memory. Every access is bounds
/// checked; the other side writes concurrently, so words are atomics and
/// byte ranges are volatile-free copies of memory nobody relies on for
/// more than what the protocol allows.
pub struct Shm {
    ptr: *mut u8,
    len: usize,
}

impl Shm {
    pub fn map(fd: &OwnedFd) -> io::Result<Self> {
        // SAFETY: fstat on a valid descriptor into a zeroed struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } < 0 {
            return Err(io::Error::last_os_error());
        }
        let len = st.st_size as usize;
        // SAFETY: a fresh shared mapping of the descriptor; the kernel
        // picks the address.
        let ptr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            ptr: ptr.cast(),
            len,
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    fn check(&self, off: u64, n: usize) -> usize {
        let end = off.checked_add(n as u64).expect("offset overflow");
        assert!(
            end <= self.len as u64,
            "access {off:#x}+{n} out of the shared memory"
        );
        off as usize
    }

    fn word(&self, off: u64) -> &AtomicU32 {
        let off = self.check(off, 4);
        assert_eq!(off % 4, 0);
        // SAFETY: in bounds, aligned, and the mapping lives as long as
        // `self`; other processes only access it with aligned accesses.
        unsafe { &*(self.ptr.add(off) as *const AtomicU32) }
    }

    pub fn r32(&self, off: u64) -> u32 {
        self.word(off).load(Ordering::Acquire)
    }

    pub fn w32(&self, off: u64, v: u32) {
        self.word(off).store(v, Ordering::Release)
    }

    pub fn r64(&self, off: u64) -> u64 {
        let off = self.check(off, 8);
        // SAFETY: in bounds and aligned (checked by the caller's constants).
        unsafe { &*(self.ptr.add(off) as *const AtomicU64) }.load(Ordering::Acquire)
    }

    pub fn w64(&self, off: u64, v: u64) {
        let off = self.check(off, 8);
        // SAFETY: as in r64.
        unsafe { &*(self.ptr.add(off) as *const AtomicU64) }.store(v, Ordering::Release)
    }

    pub fn write(&self, off: u64, data: &[u8]) {
        let off = self.check(off, data.len());
        // SAFETY: in bounds; `data` is a distinct local buffer.
        unsafe { ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.add(off), data.len()) }
    }

    pub fn read(&self, off: u64, out: &mut [u8]) {
        let off = self.check(off, out.len());
        // SAFETY: in bounds; `out` is a distinct local buffer. The bytes may
        // change under us; the copy is the one read the protocol allows.
        unsafe { ptr::copy_nonoverlapping(self.ptr.add(off), out.as_mut_ptr(), out.len()) }
    }

    pub fn fill(&self, off: u64, len: u64, byte: u8) {
        let off = self.check(off, len as usize);
        // SAFETY: in bounds.
        unsafe { ptr::write_bytes(self.ptr.add(off), byte, len as usize) }
    }
}

impl Drop for Shm {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `map` mapped.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

/// Rings an eventfd (one interrupt vector of a peer).
pub fn ring(fd: &OwnedFd) {
    let v = 1u64.to_ne_bytes();
    // SAFETY: writes 8 bytes from a live buffer. A full counter (EAGAIN)
    // means the interrupt is pending anyway.
    unsafe { libc::write(fd.as_raw_fd(), v.as_ptr().cast(), 8) };
}

/// Clears an eventfd; whether it had been rung.
pub fn drain(fd: &OwnedFd) -> bool {
    let mut v = [0u8; 8];
    // SAFETY: reads at most 8 bytes into a live buffer; the server's
    // eventfds are non-blocking.
    unsafe { libc::read(fd.as_raw_fd(), v.as_mut_ptr().cast(), 8) == 8 }
}

/// This process as a peer of the ivshmem server.
pub struct Client {
    pub sock: UnixStream,
    pub id: u32,
    pub shm: Shm,
    /// Eventfds per peer ID, vector order.
    pub peers: BTreeMap<u32, Vec<OwnedFd>>,
}

impl Client {
    pub fn connect(path: &Path) -> io::Result<Self> {
        let sock = UnixStream::connect(path)?;
        let t = Duration::from_secs(10);
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
        let closed = || bad("server closed the connection");
        let v = proto::recv_msg_timeout(&sock, t)?.ok_or_else(closed)?;
        if v.value != proto::PROTOCOL_VERSION {
            return Err(bad("protocol version"));
        }
        let id = proto::recv_msg_timeout(&sock, t)?.ok_or_else(closed)?;
        let id = u32::try_from(id.value).map_err(|_| bad("peer id"))?;
        let m = proto::recv_msg_timeout(&sock, t)?.ok_or_else(closed)?;
        let fd =
            m.fd.filter(|_| m.value == proto::SHM_MESSAGE)
                .ok_or_else(|| bad("no shared memory"))?;
        let shm = Shm::map(&fd)?;
        Ok(Self {
            sock,
            id,
            shm,
            peers: BTreeMap::new(),
        })
    }

    /// Handles the server's messages that arrived; returns false when the
    /// server went away.
    pub fn poll_server(&mut self) -> bool {
        loop {
            match proto::recv_msg_timeout(&self.sock, Duration::ZERO) {
                Ok(Some(m)) => {
                    let Ok(id) = u32::try_from(m.value) else {
                        continue;
                    };
                    match m.fd {
                        Some(fd) => self.peers.entry(id).or_default().push(fd),
                        None => {
                            self.peers.remove(&id);
                        }
                    }
                }
                Ok(None) => return false,
                Err(e) if e.kind() == io::ErrorKind::TimedOut => return true,
                Err(_) => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_document_example() {
        let l = IvLayout::for_size(64 * MIB).expect("fits");
        assert_eq!(l.mw_size, 16 * MIB);
        assert_eq!(
            (l.window_size(0, 0), l.window_size(0, 1)),
            (16 * MIB, 15 * MIB)
        );
        assert_eq!(
            (l.window_size(1, 0), l.window_size(1, 1)),
            (15 * MIB, 16 * MIB)
        );
        assert_eq!(l.window(0, 0), MIB);
        assert_eq!(l.window(0, 1), 17 * MIB);
        assert_eq!(l.window(1, 0), 32 * MIB);
        assert_eq!(l.window(1, 1), 47 * MIB);
        assert_eq!(l.spad(1, 2), 0x2048);
        // "At least 5 MiB" is not enough: 8 MiB is the smallest BAR.
        assert!(IvLayout::for_size(4 * MIB).is_none());
        assert!(IvLayout::for_size(8 * MIB).is_some());
    }
}
