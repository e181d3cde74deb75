// SPDX-License-Identifier: GPL-2.0
/*
 * This module's copy of the shared C helpers (see src/bindings/helpers.c),
 * with its peer_timeout_ms parameter.
 */
#define NTBNET_IVSHMEM_PARAMS
#include "../../src/bindings/helpers.c"

/*
 * How long the peer's heartbeat may stand still before the link goes down
 * (Documentation/ivshmem-ntb.md, "Link"). A VM that its host does not run
 * for longer looks dead: the test VMs on the debug kernel, 3 times slower,
 * raise it (selftests/vm.sh).
 */
static unsigned int peer_timeout_ms = 500;
module_param(peer_timeout_ms, uint, 0444);
MODULE_PARM_DESC(peer_timeout_ms, "Milliseconds without a peer heartbeat before the link goes down (default 500, rounded up to the 100 ms tick, 200 to 60000)");

unsigned int ntbnet_param_peer_timeout_ms(void)
{
	return peer_timeout_ms;
}
