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
//! holds. The folders are layers (Documentation/architecture.md):
//!
//! - `bindings/`: the generated bindings and the C helpers for static
//!   inlines, the only place that names C directly;
//! - `kern/`: kernel services: barriers, timers, work, delays, random
//!   numbers, rate limits, debugfs;
//! - `io/`: memory access: MMIO, coherent DMA memory, shared memory;
//! - `pci/`: PCI devices and drivers, device DMA operations;
//! - `irq/`: interrupt requests, the NTB irq domain and its index space;
//! - `ntb/`: the NTB client API and the NTB hardware-driver API;
//! - `net/`: net devices, NAPI, socket buffers, ethtool.

pub mod bindings;
pub mod io;
pub mod irq;
pub mod kern;
pub mod net;
pub mod ntb;
pub mod pci;
