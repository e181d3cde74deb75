// SPDX-License-Identifier: GPL-2.0

//! ntbnet: Ethernet over a PCIe Non-Transparent Bridge.
//!
//! An NTB client bound to every `ntb_dev` the NTB core offers (the
//! Switchtec NTB on hardware, `ntb_hw_ivshmem` in VMs). This is the
//! skeleton of the Foundation issue: it binds, reports the device and its
//! link, and unbinds cleanly; the netdev is the subject of its own issue.

use kernel::prelude::*;

#[path = "../src/lib.rs"]
#[allow(dead_code)] // Each module uses only part of the shared abstractions.
pub mod klib;

use klib::ntb;

module! {
    type: NtbNet,
    name: "ntbnet",
    author: "The ntbnet developers",
    description: "Ethernet over PCIe Non-Transparent Bridges",
    license: "GPL",
}

/// What ntbnet keeps for each NTB device it is bound to.
struct Peer;

struct Client;

#[vtable]
impl ntb::Client for Client {
    type Data = Peer;

    fn probe(ntb: &ntb::Device) -> Result<Peer> {
        pr_info!(
            "{}: bound (bus {}), link {}\n",
            ntb.name(),
            ntb.pci_name(),
            if ntb.link_is_up() { "up" } else { "down" }
        );
        Ok(Peer)
    }

    fn remove(_peer: Peer, ntb: &ntb::Device) {
        pr_info!("{}: unbound\n", ntb.name());
    }
}

struct NtbNet {
    _client: Pin<KBox<ntb::Registration<Client>>>,
}

impl kernel::Module for NtbNet {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _client: KBox::pin_init(ntb::Registration::new(), GFP_KERNEL)?,
        })
    }
}
