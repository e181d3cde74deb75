/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C API that ntbnet's Rust code needs and that 6.12's kernel::bindings
 * lacks. bindgen reads this file with the kernel's own clang flags (see
 * Kbuild); static inline functions get generated C wrappers.
 */
#include <linux/debugfs.h>
#include <linux/dim.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/etherdevice.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/ethtool.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/irq.h>
#include <linux/irqdomain.h>
#include <linux/module.h>
#include <linux/msi.h>
#include <linux/netdevice.h>
#include <linux/ntb.h>
#include <linux/pci.h>
#include <linux/random.h>
#include <linux/rtnetlink.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/timer.h>
#include <linux/workqueue.h>
#include <net/sock.h>
#include <net/page_pool/helpers.h>

#include "helpers.h"
