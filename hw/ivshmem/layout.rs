// SPDX-License-Identifier: GPL-2.0

//! The virtual NTB's shared-memory layout, version 2 (see
//! Documentation/ivshmem-ntb.md). Pure arithmetic: no kernel dependencies,
//! so that it can be tested on the host.

/// `"NTBIVSHM"`, little-endian, at offset 0.
pub(crate) const MAGIC: u64 = u64::from_le_bytes(*b"NTBIVSHM");
/// The layout version this driver speaks (2: the port block's `seen`
/// word, which makes the link symmetric).
pub(crate) const VERSION: u32 = 2;

/// Header field offsets.
pub(crate) const HDR_MAGIC: usize = 0x00;
pub(crate) const HDR_VERSION: usize = 0x08;
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
pub(crate) const PORT_SEEN: usize = 0x0c;
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
///
/// Each port has `mws` inbound windows. Window `w` of port `p` is
/// `mw_size` less `(w - p) mod mws` granules long: the windows of one port
/// differ in size, so that a DMA allocation of a window's size lands in
/// that window (the smallest free window that fits is chosen), whichever
/// window a client allocates for first; and window `p` of port `p` is the
/// largest, since clients such as ntb_perf ask for the alignment of the
/// window named after their own port.
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
        let g = MW_GRANULE as u64;
        let avail = size
            .checked_sub(CTRL_SIZE as u64)
            .ok_or(LayoutError::TooSmall)?;
        // Per port: sum of (mw_size - w * g) for w < MWS must fit.
        let per_port = avail / PORTS as u64 / g;
        let steps = (MWS as u64) * (MWS as u64 - 1) / 2;
        let mw_granules = (per_port + steps) / MWS as u64;
        if mw_granules < MWS as u64 {
            return Err(LayoutError::TooSmall);
        }
        let mw_size = mw_granules * g;
        Ok(Self {
            size,
            ports: PORTS,
            spads: SPADS,
            mws: MWS,
            mw_size,
            mw_offset: CTRL_SIZE as u64,
        })
    }

    /// Size of window `widx` of port `port`, if both exist.
    pub(crate) fn window_size(&self, port: u32, widx: i32) -> Option<u64> {
        let widx = u32::try_from(widx).ok().filter(|&w| w < self.mws)?;
        if port >= self.ports {
            return None;
        }
        let shrink = (widx + self.mws - port % self.mws) % self.mws;
        Some(self.mw_size - shrink as u64 * MW_GRANULE as u64)
    }

    /// Bytes of windows per port (the same for every port).
    fn port_windows(&self) -> u64 {
        (0..self.mws as i32)
            .filter_map(|w| self.window_size(0, w))
            .sum()
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
        let before: u64 = (0..widx as i32)
            .filter_map(|w| self.window_size(port, w))
            .sum();
        usize::try_from(self.mw_offset + port as u64 * self.port_windows() + before).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn windows(l: &Layout) -> impl Iterator<Item = (u32, i32, u64, u64)> + '_ {
        (0..l.ports).flat_map(move |p| {
            (0..l.mws as i32).map(move |w| {
                let off = l.window(p, w).expect("window exists") as u64;
                (p, w, off, l.window_size(p, w).expect("size exists"))
            })
        })
    }

    #[test]
    fn sixty_four_mib() {
        let l = Layout::for_size(64 * MIB).expect("fits");
        assert_eq!(l.mw_size, 16 * MIB);
        let got: Vec<_> = windows(&l).collect();
        assert_eq!(
            got,
            [
                (0, 0, MIB, 16 * MIB),
                (0, 1, 17 * MIB, 15 * MIB),
                (1, 0, 32 * MIB, 15 * MIB),
                (1, 1, 47 * MIB, 16 * MIB),
            ]
        );
    }

    #[test]
    fn windows_fit_and_do_not_overlap() {
        for shift in 23..=30 {
            let size = 1u64 << shift;
            let l = Layout::for_size(size).expect("fits");
            let mut spans: Vec<_> = windows(&l)
                .map(|(_, _, off, len)| (off, off + len))
                .collect();
            spans.sort();
            assert!(spans[0].0 >= CTRL_SIZE as u64);
            assert!(spans.last().expect("windows").1 <= size, "size {size:#x}");
            for pair in spans.windows(2) {
                assert!(pair[0].1 <= pair[1].0, "overlap at size {size:#x}");
            }
        }
    }

    #[test]
    fn own_window_is_largest_and_sizes_distinct() {
        let l = Layout::for_size(128 * MIB).expect("fits");
        for p in 0..l.ports {
            let sizes: Vec<_> = (0..l.mws as i32)
                .map(|w| l.window_size(p, w).expect("size"))
                .collect();
            let own = sizes[(p % l.mws) as usize];
            assert!(sizes.iter().all(|&s| s <= own));
            let mut dedup = sizes.clone();
            dedup.sort();
            dedup.dedup();
            assert_eq!(dedup.len(), sizes.len());
        }
    }

    #[test]
    fn too_small() {
        assert_eq!(Layout::for_size(4 * MIB), Err(LayoutError::TooSmall));
        assert_eq!(Layout::for_size(0), Err(LayoutError::TooSmall));
        assert!(Layout::for_size(8 * MIB).is_ok());
    }

    #[test]
    fn indices_are_checked() {
        let l = Layout::for_size(64 * MIB).expect("fits");
        assert_eq!(l.window(0, -1), None);
        assert_eq!(l.window(0, 2), None);
        assert_eq!(l.window(2, 0), None);
        assert_eq!(l.window_size(2, 0), None);
        assert_eq!(l.spad(0, -1), None);
        assert_eq!(l.spad(0, 64), None);
        assert_eq!(l.spad(2, 0), None);
        let last = l.spad(1, 63).expect("spad exists");
        assert!(last + 4 <= l.port_block(1) + PORT_BLOCK);
        assert!(l.port_block(l.ports - 1) + PORT_BLOCK <= CTRL_SIZE);
    }
}
