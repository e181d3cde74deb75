// SPDX-License-Identifier: GPL-2.0

//! A short, deterministic fuzz run of the receive side on stable Rust:
//! `FUZZ_INPUTS` inputs from a seeded xorshift PRNG, half fresh random
//! bytes and half mutations of earlier inputs, through `fuzz_rx`, the entry
//! point the cargo-fuzz target (`net/ring/fuzz`) uses. `fuzz_rx` fails on
//! any broken invariant; this test also checks that the run reached every
//! outcome, so that it cannot silently degenerate.
//!
//! `NTBNET_FUZZ_INPUTS` and `NTBNET_FUZZ_SEED` override the defaults for
//! a longer run.

mod common;

use common::{fuzz_rx, FuzzStats, Xorshift};
use ntbnet_ring::RingError;

const FUZZ_INPUTS: u64 = 200_000;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Changes `input` a little: flip bits, overwrite, insert or drop bytes.
fn mutate(r: &mut Xorshift, input: &mut Vec<u8>) {
    for _ in 0..1 + r.below(4) {
        let len = input.len() as u64;
        match r.below(5) {
            0 if len > 0 => {
                let i = r.below(len) as usize;
                input[i] ^= 1 << r.below(8);
            }
            1 if len > 0 => {
                let i = r.below(len) as usize;
                input[i] = r.next_u64() as u8;
            }
            2 => {
                let i = r.below(len + 1) as usize;
                input.insert(i, r.next_u64() as u8);
            }
            3 if len > 0 => {
                let i = r.below(len) as usize;
                input.remove(i);
            }
            _ => {
                // Interesting values: 0, all ones, around the u32 wrap.
                let v: u32 = [0, u32::MAX, 1 << 31, 64, 14][r.below(5) as usize];
                let i = r.below(len + 1) as usize;
                for (k, b) in v.to_le_bytes().into_iter().enumerate() {
                    input.insert(i + k, b);
                }
            }
        }
    }
}

#[test]
fn fuzz_short() {
    let inputs = env_u64("NTBNET_FUZZ_INPUTS", FUZZ_INPUTS);
    let seed = env_u64("NTBNET_FUZZ_SEED", 0x6e74_626e_6574);
    let mut r = Xorshift::new(seed);
    let mut pool: Vec<Vec<u8>> = Vec::new();
    let mut total = FuzzStats::default();
    for n in 0..inputs {
        let input = if pool.is_empty() || r.below(2) == 0 {
            let mut v = vec![0u8; r.below(96) as usize];
            r.fill(&mut v);
            v
        } else {
            let mut v = pool[r.below(pool.len() as u64) as usize].clone();
            mutate(&mut r, &mut v);
            v.truncate(256);
            v
        };
        let st = fuzz_rx(&input);
        // Keep inputs that got frames through, for mutation.
        if st.accepted > 0 || st.completed > 0 {
            if pool.len() < 256 {
                pool.push(input);
            } else {
                let i = (n % 256) as usize;
                pool[i] = input;
            }
        }
        total.ops += st.ops;
        total.accepted += st.accepted;
        total.bad_prod += st.bad_prod;
        total.bad_cons += st.bad_cons;
        total.completed += st.completed;
        total.headers_ok += st.headers_ok;
        total.headers_bad += st.headers_bad;
        for (t, s) in total.rejected.iter_mut().zip(st.rejected) {
            *t += s;
        }
    }
    println!("fuzz_short: {inputs} inputs, {total:?}");
    if inputs >= 10_000 {
        assert!(total.accepted > 0, "no frame accepted: {total:?}");
        assert!(total.completed > 0, "no completion: {total:?}");
        assert!(total.bad_prod > 0 && total.bad_cons > 0, "{total:?}");
        assert!(total.headers_ok > 0 && total.headers_bad > 0, "{total:?}");
        for e in RingError::ALL {
            if e != RingError::BadProducer && e != RingError::BadConsumer {
                assert!(total.rejected[e.index()] > 0, "never saw {e:?}: {total:?}");
            }
        }
    }
}
