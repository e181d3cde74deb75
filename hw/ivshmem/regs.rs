// SPDX-License-Identifier: GPL-2.0

//! The ivshmem-doorbell device's registers (QEMU docs/specs/ivshmem-spec.rst).

/// Red Hat / Qumranet, the ivshmem vendor.
pub(crate) const PCI_VENDOR_ID_REDHAT_QUMRANET: u32 = 0x1af4;
/// The ivshmem device (plain and doorbell share it).
pub(crate) const PCI_DEVICE_ID_IVSHMEM: u32 = 0x1110;

/// BAR 0: the registers below.
pub(crate) const BAR_REGS: u32 = 0;
/// BAR 2: the shared memory handed out by the server.
pub(crate) const BAR_SHM: u32 = 2;

/// This VM's peer ID, read-only.
pub(crate) const IVPOSITION: usize = 8;
/// Write `peer << 16 | vector` to ring `vector` of `peer`.
pub(crate) const DOORBELL: usize = 12;
