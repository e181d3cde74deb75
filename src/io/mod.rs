// SPDX-License-Identifier: GPL-2.0

//! Memory access: mapped device memory (`mmio`), coherent DMA buffers
//! (`coherent`) and shared memory (`shm`).

pub mod coherent;
pub mod mmio;
pub mod shm;
