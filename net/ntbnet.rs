// SPDX-License-Identifier: GPL-2.0

//! ntbnet: Ethernet over a PCIe Non-Transparent Bridge.
//!
//! An NTB client bound to every `ntb_dev` the NTB core offers (the
//! Switchtec NTB on hardware, `ntb_hw_ivshmem` in VMs), with one Ethernet
//! interface `ntb%d` per device. Documentation/ntbnet.md tells how to run
//! it; Documentation/ring-protocol.md specifies what goes over the link.
//!
//! Modules, each using only those below it:
//!
//! - `nic.rs`: the interface, its queues and link, netdev ops
//!   (`nic/ethtool.rs`: ethtool ops);
//! - `link.rs`: the link's I/O: heartbeat, windows and interrupts set up,
//!   the handshake's actions carried out;
//! - `scribble.rs`: a test mode that plays a misbehaving peer;
//! - `hooks.rs`: the test modes' per-device debugfs knobs;
//! - `notify.rs`: per-queue interrupts from the NTB irq domain;
//! - `queue.rs`: one queue pair's data path;
//! - `window.rs`, `stats.rs`: the memory windows, the counters;
//! - `handshake.rs`, `negotiate.rs`, `ring.rs`: the pure protocol logic
//!   (handshake state machine, agreement, ring layout and indices), tested
//!   on the host.

use kernel::prelude::*;
use kernel::sync::Arc;

#[path = "../src/lib.rs"]
#[allow(dead_code)] // Each module uses only part of the shared abstractions.
pub mod klib;

#[allow(dead_code)] // The host tests use all of it.
pub mod handshake;
mod hooks;
mod link;
pub mod negotiate;
mod nic;
mod notify;
mod queue;
#[path = "ring.rs"]
#[allow(dead_code)] // The host tests use all of it; the driver most.
pub mod ring;
mod scribble;
mod stats;
mod window;

use klib::net::MsgLevel;
use klib::ntb;
use nic::Nic;

module! {
    type: NtbNet,
    name: "ntbnet",
    author: "The ntbnet developers",
    description: "Ethernet over PCIe Non-Transparent Bridges",
    license: "GPL",
}

/// What ntbnet keeps for each NTB device it is bound to.
struct Peer {
    nic: Arc<Nic>,
}

struct Client;

#[vtable]
impl ntb::Client for Client {
    type Data = Peer;

    fn probe(ntb: &ntb::Device) -> Result<Peer> {
        Ok(Peer {
            nic: Nic::new(ntb)?,
        })
    }

    fn remove(peer: Peer, ntb: &ntb::Device) {
        let verbose = peer.nic.msg().on(MsgLevel::PROBE);
        drop(peer);
        if verbose {
            pr_info!("{}: unbound\n", ntb.name());
        }
    }

    fn link_event(peer: &Peer, _ntb: &ntb::Device) {
        peer.nic.link_event();
    }

    fn db_event(peer: &Peer, _ntb: &ntb::Device, vector: u32) {
        peer.nic.db_event(vector);
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
