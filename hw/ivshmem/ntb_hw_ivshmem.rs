// SPDX-License-Identifier: GPL-2.0

//! ntb_hw_ivshmem: a virtual NTB on QEMU's ivshmem-doorbell device.
//!
//! Binds the ivshmem-doorbell PCI function (1af4:1110). This is the
//! skeleton of the Foundation issue: it enables the device, maps its
//! registers, reports its peer ID and shared-memory size, and unbinds
//! cleanly; the `ntb_dev` is the subject of its own issue.

use kernel::c_str;
use kernel::prelude::*;

#[path = "../../src/lib.rs"]
#[allow(dead_code)] // Each module uses only part of the shared abstractions.
pub mod klib;

mod regs;

use klib::pci;

module! {
    type: NtbHwIvshmem,
    name: "ntb_hw_ivshmem",
    author: "The ntbnet developers",
    description: "Virtual NTB on QEMU ivshmem-doorbell",
    license: "GPL",
}

/// One bound ivshmem-doorbell device.
struct Ivshmem {
    regs: pci::IoMem,
}

struct Driver;

impl pci::Driver for Driver {
    type Data = Ivshmem;
    const NAME: &'static CStr = c_str!("ntb_hw_ivshmem");
    const ID_TABLE: &'static [pci::DeviceId] = &[
        pci::DeviceId::new(regs::PCI_VENDOR_ID_REDHAT_QUMRANET, regs::PCI_DEVICE_ID_IVSHMEM),
        pci::DeviceId::END,
    ];

    fn probe(dev: &pci::Device) -> Result<Ivshmem> {
        dev.enable()?;
        let enabled = kernel::types::ScopeGuard::new(|| dev.disable());
        dev.request_regions(c_str!("ntb_hw_ivshmem"))?;
        let claimed = kernel::types::ScopeGuard::new(|| dev.release_regions());
        let regs = dev.iomap(regs::BAR_REGS)?;
        let (_, shm_len) = dev.resource(regs::BAR_SHM);
        if shm_len == 0 {
            dev_err(dev, "no shared-memory BAR: is this ivshmem-doorbell with a server?");
            return Err(ENODEV);
        }
        dev.set_master();
        pr_info!(
            "{}: ivshmem-doorbell, peer id {}, {} MiB shared\n",
            dev.name(),
            regs.read32(regs::IVPOSITION),
            shm_len >> 20
        );
        claimed.dismiss();
        enabled.dismiss();
        Ok(Ivshmem { regs })
    }

    fn remove(data: Ivshmem, dev: &pci::Device) {
        data.regs.write32(0, regs::INTR_MASK);
        drop(data);
        dev.clear_master();
        dev.release_regions();
        dev.disable();
    }
}

fn dev_err(dev: &pci::Device, msg: &str) {
    pr_err!("{}: {}\n", dev.name(), msg);
}

struct NtbHwIvshmem {
    _driver: Pin<KBox<pci::Registration<Driver>>>,
}

impl kernel::Module for NtbHwIvshmem {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _driver: KBox::pin_init(pci::Registration::new(), GFP_KERNEL)?,
        })
    }
}
