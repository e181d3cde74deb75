// SPDX-License-Identifier: GPL-2.0

//! The virtual NTB's shared-memory layout, version 1 (see
//! Documentation/ivshmem-ntb.md). Pure arithmetic: no kernel dependencies,
//! so that it can be tested on the host.

/// `"NTBIVSHM"`, little-endian, at offset 0.
pub(crate) const MAGIC: u64 = u64::from_le_bytes(*b"NTBIVSHM");
/// The layout version this driver speaks.
pub(crate) const VERSION: u32 = 1;

/// Header states (`HDR_STATE`).
pub(crate) const STATE_EMPTY: u32 = 0;
pub(crate) const STATE_INITIALISING: u32 = 1;
pub(crate) const STATE_READY: u32 = 2;

/// Header field offsets.
pub(crate) const HDR_MAGIC: usize = 0x00;
pub(crate) const HDR_VERSION: usize = 0x08;
pub(crate) const HDR_STATE: usize = 0x0c;
pub(crate) const HDR_SIZE: usize = 0x10;
pub(crate) const HDR_PORTS: usize = 0x18;
pub(crate) const HDR_SPADS: usize = 0x1c;
pub(crate) const HDR_MWS: usize = 0x20;
pub(crate) const HDR_MW_SIZE: usize = 0x28;
pub(crate) const HDR_MW_OFFSET: usize = 0x30;

/// Port blocks: one page per port after the header page.
pub(crate) const PORT_BLOCK: usize = 0x1000;
/// Port block field offsets.
pub(crate) const PORT_SESSION: usize = 0x00;
pub(crate) const PORT_HEARTBEAT: usize = 0x04;
pub(crate) const PORT_LINK_ENABLED: usize = 0x08;
pub(crate) const PORT_SPADS: usize = 0x40;

/// The control area (header and port blocks) before the windows.
pub(crate) const CTRL_SIZE: usize = 1 << 20;
/// Windows are whole multiples of this.
pub(crate) const MW_GRANULE: usize = 1 << 20;

/// Ports (hosts) in this version; the layout has room for more.
pub(crate) const PORTS: u32 = 2;
/// Scratchpads per port.
pub(crate) const SPADS: u32 = 64;
/// Inbound memory windows per port.
pub(crate) const MWS: u32 = 2;

/// The layout of a shared memory of a given size.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Layout {
    pub(crate) size: u64,
    pub(crate) ports: u32,
    pub(crate) spads: u32,
    pub(crate) mws: u32,
    pub(crate) mw_size: u64,
    pub(crate) mw_offset: u64,
}

/// Why a layout cannot be used.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum LayoutError {
    /// The shared memory cannot hold one granule per window.
    TooSmall,
}

impl Layout {
    /// The layout this driver uses for `size` bytes of shared memory.
    pub(crate) fn for_size(size: u64) -> Result<Self, LayoutError> {
        let windows = (PORTS * MWS) as u64;
        let avail = size.checked_sub(CTRL_SIZE as u64).ok_or(LayoutError::TooSmall)?;
        let mw_size = avail / windows / MW_GRANULE as u64 * MW_GRANULE as u64;
        if mw_size == 0 {
            return Err(LayoutError::TooSmall);
        }
        Ok(Self {
            size,
            ports: PORTS,
            spads: SPADS,
            mws: MWS,
            mw_size,
            mw_offset: CTRL_SIZE as u64,
        })
    }

    /// Offset of port `port`'s block.
    pub(crate) fn port_block(&self, port: u32) -> usize {
        PORT_BLOCK * (1 + port as usize)
    }

    /// Offset of scratchpad `idx` of port `port`, if both exist.
    pub(crate) fn spad(&self, port: u32, idx: i32) -> Option<usize> {
        let idx = u32::try_from(idx).ok()?;
        (port < self.ports && idx < self.spads)
            .then(|| self.port_block(port) + PORT_SPADS + 4 * idx as usize)
    }

    /// Offset of inbound window `widx` of port `port`, if both exist.
    pub(crate) fn window(&self, port: u32, widx: i32) -> Option<usize> {
        let widx = u32::try_from(widx).ok()?;
        if port >= self.ports || widx >= self.mws {
            return None;
        }
        let n = (port * self.mws + widx) as u64;
        usize::try_from(self.mw_offset + n * self.mw_size).ok()
    }
}
