// SPDX-License-Identifier: GPL-2.0
/*
 * This module's copy of the shared C helpers (see src/bindings/helpers.c),
 * with the NTB irq domain's irq_mode parameter, the
 * message level and ntbnet's tracepoints (net/ntbnet_trace.h, fired from
 * Rust through src/net/trace.rs).
 */
#define NTBNET_IRQ_MODE_PARAM
#define NTBNET_TRACEPOINTS
#include "../src/bindings/helpers.c"

/*
 * The message level at probe (netif_msg_init() semantics, as e1000 and
 * most NIC drivers' `debug`); `ethtool -s ntb0 msglvl` changes it later.
 */
static int debug = -1;
module_param(debug, int, 0444);
MODULE_PARM_DESC(debug, "Message level at probe: -1 drv, probe and link (default), 0 none, N the first N classes of ethtool's msglvl list (16 all)");

int ntbnet_param_debug(void)
{
	return debug;
}

#define CREATE_TRACE_POINTS
#include "ntbnet_trace.h"

void ntbnet_trace_tx_publish(const struct net_device *dev, u16 queue, u32 prod,
			     u32 frames, bool kick)
{
	trace_ntbnet_tx_publish(dev, queue, prod, frames, kick);
}

void ntbnet_trace_rx_consume(const struct net_device *dev, u16 queue, u32 cons,
			     u32 frames, bool kick)
{
	trace_ntbnet_rx_consume(dev, queue, cons, frames, kick);
}

void ntbnet_trace_link(const struct net_device *dev, bool up, u32 queues,
		       const char *why)
{
	trace_ntbnet_link(dev, up, queues, why);
}
