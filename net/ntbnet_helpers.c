// SPDX-License-Identifier: GPL-2.0
/*
 * This module's copy of the shared C helpers (see src/bindings/helpers.c),
 * with the NTB irq domain's irq_mode parameter, the test modes, the
 * message level and ntbnet's tracepoints (net/ntbnet_trace.h, fired from
 * Rust through src/net/trace.rs).
 */
#define NTBNET_IRQ_MODE_PARAM
#define NTBNET_TEST_PARAMS
#define NTBNET_TRACEPOINTS
#include "../src/bindings/helpers.c"

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
