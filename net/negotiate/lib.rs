// SPDX-License-Identifier: GPL-2.0

//! Host build of `net/negotiate.rs` and `net/handshake.rs` with the
//! `net/ring.rs` they use, laid out as in the ntbnet crate (`crate::ring`,
//! `crate::negotiate`, `crate::handshake`).

#![no_std]

#[path = "../ring.rs"]
pub mod ring;

#[path = "../negotiate.rs"]
pub mod negotiate;

#[path = "../handshake.rs"]
pub mod handshake;
