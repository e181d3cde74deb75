/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ntbnet's tracepoints (events/ntbnet/ in tracefs; `perf trace -e
 * 'ntbnet:*'`, `trace-cmd record -e ntbnet`). Defined here in C, where
 * TRACE_EVENT lives; net/ntbnet_helpers.c creates them and wraps each in a
 * plain function that src/trace.rs calls. Documentation/ntbnet.md lists
 * them.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ntbnet

#if !defined(_NTBNET_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _NTBNET_TRACE_H

#include <linux/netdevice.h>
#include <linux/tracepoint.h>

/*
 * Transmit: `frames` new descriptors were published to the peer on queue
 * `queue`, its producer index now `prod`; `kick` if the peer's queue
 * interrupt was raised for them (it asked for one, event index).
 */
TRACE_EVENT(ntbnet_tx_publish,
	TP_PROTO(const struct net_device *dev, u16 queue, u32 prod, u32 frames,
		 bool kick),
	TP_ARGS(dev, queue, prod, frames, kick),
	TP_STRUCT__entry(
		__string(dev, dev->name)
		__field(u16, queue)
		__field(u32, prod)
		__field(u32, frames)
		__field(bool, kick)
	),
	TP_fast_assign(
		__assign_str(dev);
		__entry->queue = queue;
		__entry->prod = prod;
		__entry->frames = frames;
		__entry->kick = kick;
	),
	TP_printk("dev=%s queue=%u prod=%u frames=%u kick=%d",
		  __get_str(dev), __entry->queue, __entry->prod,
		  __entry->frames, __entry->kick)
);

/*
 * Receive: a poll consumed `frames` descriptors of queue `queue` (passed
 * up or, when bad, counted and dropped) and wrote the consumer index
 * `cons` back to the peer; `kick` if the peer's queue interrupt was raised
 * (its transmit completion).
 */
TRACE_EVENT(ntbnet_rx_consume,
	TP_PROTO(const struct net_device *dev, u16 queue, u32 cons, u32 frames,
		 bool kick),
	TP_ARGS(dev, queue, cons, frames, kick),
	TP_STRUCT__entry(
		__string(dev, dev->name)
		__field(u16, queue)
		__field(u32, cons)
		__field(u32, frames)
		__field(bool, kick)
	),
	TP_fast_assign(
		__assign_str(dev);
		__entry->queue = queue;
		__entry->cons = cons;
		__entry->frames = frames;
		__entry->kick = kick;
	),
	TP_printk("dev=%s queue=%u cons=%u frames=%u kick=%d",
		  __get_str(dev), __entry->queue, __entry->cons,
		  __entry->frames, __entry->kick)
);

/*
 * The link (carrier) came up with `queues` queues, or went down; `why`
 * says why it went down ("" when it came up).
 */
TRACE_EVENT(ntbnet_link,
	TP_PROTO(const struct net_device *dev, bool up, u32 queues,
		 const char *why),
	TP_ARGS(dev, up, queues, why),
	TP_STRUCT__entry(
		__string(dev, dev->name)
		__field(bool, up)
		__field(u32, queues)
		__string(why, why)
	),
	TP_fast_assign(
		__assign_str(dev);
		__entry->up = up;
		__entry->queues = queues;
		__assign_str(why);
	),
	TP_printk("dev=%s %s queues=%u%s%s", __get_str(dev),
		  __entry->up ? "up" : "down", __entry->queues,
		  __entry->up ? "" : " why=", __get_str(why))
);

#endif /* _NTBNET_TRACE_H */

/* Out of the kernel tree: found through -I$(src)/net (Kbuild). */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE ntbnet_trace
#include <trace/define_trace.h>
