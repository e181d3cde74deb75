// SPDX-License-Identifier: GPL-2.0

//! libFuzzer target over the receive side: `fuzz_rx` (shared with
//! `tests/fuzz_short.rs`) drives a simulated link from the input bytes and
//! panics on any broken invariant.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/mod.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::fuzz_rx(data);
});
