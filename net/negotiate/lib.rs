// SPDX-License-Identifier: GPL-2.0

//! Host build of `net/negotiate.rs` with the `net/ring.rs` it uses, laid out
//! as in the ntbnet crate (`crate::ring`, `crate::negotiate`).

#![no_std]

#[path = "../ring.rs"]
pub mod ring;

#[path = "../negotiate.rs"]
pub mod negotiate;
