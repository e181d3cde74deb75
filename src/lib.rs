// SPDX-License-Identifier: GPL-2.0

//! Safe abstractions over the C APIs that ntbnet's drivers use and that
//! 6.12's `kernel` crate does not provide: the NTB client API, PCI drivers
//! and their resources.
//!
//! Every module of the project compiles this tree into its own crate
//! (`#[path = "../src/lib.rs"] mod klib;`), so a given driver uses only part
//! of it; the crate roots allow `dead_code` on it for that reason.
//!
//! `unsafe` code lives here and only here; each block says why its contract
//! holds.

pub mod barrier;
pub mod bindings;
pub mod coherent;
pub mod debugfs;
pub mod delay;
pub mod dma;
pub mod ethtool;
pub mod iomem;
pub mod irq;
pub mod irq_domain;
pub mod irq_index;
pub mod napi;
pub mod net;
pub mod ntb;
pub mod ntb_hw;
pub mod once;
pub mod params;
pub mod pci;
pub mod random;
pub mod shm;
pub mod skb;
pub mod timer;
pub mod types;
pub mod work;
