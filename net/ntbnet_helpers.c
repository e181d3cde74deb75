// SPDX-License-Identifier: GPL-2.0
/* This module's copy of the shared C helpers (see src/helpers.c). */
#include "../src/helpers.c"

/*
 * Test mode for the `scribble` selftest: while set, this host writes random
 * bytes over the peer's whole inbound window instead of frames (see
 * net/scribble.rs). module_param() is a macro that Rust cannot use in 6.12.
 */
static bool scribble;
module_param(scribble, bool, 0644);
MODULE_PARM_DESC(scribble, "test mode: write garbage over the peer's window (default: off)");

bool ntbnet_param_scribble(void)
{
	return READ_ONCE(scribble);
}
