// SPDX-License-Identifier: GPL-2.0

//! Bindings for the C API that `kernel::bindings` lacks, generated at build
//! time by bindgen from `bindings_helper.h` (see Kbuild).

#![allow(
    unsafe_op_in_unsafe_fn,
    unreachable_pub,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    dead_code,
    improper_ctypes,
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    unknown_lints,
    unnecessary_transmutes
)]

include!("bindings_generated.rs");

// bindgen_parameters blocks these so that they map to Rust's own sizes, as
// in the kernel's `bindings` crate.
type __kernel_size_t = usize;
type __kernel_ssize_t = isize;
type __kernel_ptrdiff_t = isize;
