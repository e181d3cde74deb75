// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers linked into each module: the macros of helpers.h, then the
 * wrappers that bindgen generated for the static inline functions.
 * Each module compiles this file once, through its own one-line C file,
 * so that no object is shared between two modules.
 */
#include "bindings_helper.h"
#include <linux/switchtec.h>
#include <linux/uaccess.h>

/* ntb_register_client() is a macro that passes THIS_MODULE. */
int ntbnet_ntb_register_client(struct ntb_client *client)
{
	return ntb_register_client(client);
}

/* pci_register_driver() is a macro that passes THIS_MODULE and the name. */
int ntbnet_pci_register_driver(struct pci_driver *drv)
{
	return pci_register_driver(drv);
}

/* timer_setup() is a macro (it names a lockdep class per call site). */
void ntbnet_timer_setup(struct timer_list *timer,
			void (*func)(struct timer_list *))
{
	timer_setup(timer, func, 0);
}

/* jiffies is a volatile variable; read it as C does. */
unsigned long ntbnet_jiffies(void)
{
	return jiffies;
}

/*
 * The one copy out of memory a peer writes concurrently (src/io/mod.rs,
 * copy_from_shared): out of line, so that the Rust caller sees an opaque
 * call and works on the private copy only.
 */
noinline void ntbnet_copy_from_shared(void *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
}

/*
 * A copy into a write-combining mapping (an NTB's outbound memory window,
 * src/io/mmio.rs). On x86-64 with non-temporal stores, 64 bytes a loop, as
 * ntb_transport's ntb_memcpy_tx() does (such a mapping is memory-like
 * there); memcpy_toio() would move 4 bytes per `rep movsl` step. Like
 * every store through a write-combining mapping, ordered before later
 * stores only by wmb() (sfence), which the ring protocol issues before it
 * publishes. Elsewhere memcpy_toio().
 */
void ntbnet_memcpy_to_wc(void __iomem *dst, const void *src, size_t n)
{
#ifdef copy_to_nontemporal
	/* Its count is 32 bits wide; a window copy is at most a frame. */
	if (likely(n <= INT_MAX)) {
		copy_to_nontemporal((__force void *)dst, src, n);
		return;
	}
#endif
	memcpy_toio(dst, src, n);
}

/* page_to_phys() is a macro on x86. */
phys_addr_t ntbnet_page_to_phys(struct page *page)
{
	return page_to_phys(page);
}

/*
 * The map_sg operation of a device whose bus addresses are its physical
 * addresses: for_each_sg(), sg_dma_address() and sg_dma_len() are macros.
 */
int ntbnet_dma_direct_map_sg(struct scatterlist *sgl, int nents)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i) {
		sg_dma_address(sg) = sg_phys(sg);
		sg_dma_len(sg) = sg->length;
	}
	return nents;
}

/* Barriers are macros; the ring protocol needs the real ones (sfence for
 * write-combined windows). */
void ntbnet_mb(void)
{
	mb();
}

void ntbnet_wmb(void)
{
	wmb();
}

void ntbnet_rmb(void)
{
	rmb();
}

/* local_bh_disable()/enable() pass _THIS_IP_, a macro. */
void ntbnet_local_bh_disable(void)
{
	local_bh_disable();
}

void ntbnet_local_bh_enable(void)
{
	local_bh_enable();
}

/* num_online_cpus() reads an atomic through a macro-built accessor. */
unsigned int ntbnet_num_online_cpus(void)
{
	return num_online_cpus();
}

/* INIT_DELAYED_WORK() is a macro (it names a lockdep class per call site). */
void ntbnet_init_delayed_work(struct delayed_work *work, work_func_t func)
{
	INIT_DELAYED_WORK(work, func);
}

/* system_wq through queue_delayed_work()/mod_delayed_work(), inlines. */
bool ntbnet_queue_delayed_work(struct delayed_work *work, unsigned long delay)
{
	return queue_delayed_work(system_wq, work, delay);
}

bool ntbnet_mod_delayed_work(struct delayed_work *work, unsigned long delay)
{
	return mod_delayed_work(system_wq, work, delay);
}

/*
 * XPS over the first n queues: CPU c (the c-th of cpumask_local_spread)
 * sends on queue c % n. cpumask_of() is a macro.
 */
int ntbnet_set_xps_spread(struct net_device *dev, unsigned int n, int node)
{
	cpumask_var_t *masks;
	unsigned int i, q;
	int ret = 0;

	masks = kcalloc(n, sizeof(*masks), GFP_KERNEL);
	if (!masks)
		return -ENOMEM;
	for (q = 0; q < n; q++) {
		if (!zalloc_cpumask_var(&masks[q], GFP_KERNEL)) {
			ret = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < num_online_cpus(); i++)
		cpumask_set_cpu(cpumask_local_spread(i, node), masks[i % n]);
	for (q = 0; q < n && !ret; q++)
		ret = netif_set_xps_queue(dev, masks[q], q);
out:
	for (q = 0; q < n; q++)
		free_cpumask_var(masks[q]);
	kfree(masks);
	return ret;
}

/*
 * The index-th CPU near node (as ntbnet_set_xps_spread() and the irq
 * domain's allocations count them) as irq's affinity hint, and with set
 * as its affinity too. cpumask_of() is static, as a hint must be.
 */
int ntbnet_irq_spread_hint(unsigned int irq, unsigned int index, int node,
			   bool set)
{
	const struct cpumask *m = cpumask_of(cpumask_local_spread(index, node));

	return set ? irq_set_affinity_and_hint(irq, m) :
		     irq_update_affinity_hint(irq, m);
}

/* free_irq() warns about a hint left set. */
void ntbnet_irq_clear_hint(unsigned int irq)
{
	irq_update_affinity_hint(irq, NULL);
}

/* netdev_xmit_more() reads a per-CPU variable. */
bool ntbnet_netdev_xmit_more(void)
{
	return netdev_xmit_more();
}

/* ip_summed is a bitfield inside a struct group. */
u8 ntbnet_skb_ip_summed(const struct sk_buff *skb)
{
	return skb->ip_summed;
}

void ntbnet_skb_csum_unnecessary(struct sk_buff *skb)
{
	skb->ip_summed = CHECKSUM_UNNECESSARY;
}

/* protocol sits in a struct group that bindgen makes anonymous. */
void ntbnet_eth_type_trans(struct sk_buff *skb, struct net_device *dev)
{
	skb->protocol = eth_type_trans(skb, dev);
}

/* skb_shinfo() is a macro. */
unsigned int ntbnet_skb_nr_frags(const struct sk_buff *skb)
{
	return skb_shinfo(skb)->nr_frags;
}

/* The address and length of fragment i (page_address() is a macro). */
const void *ntbnet_skb_frag(const struct sk_buff *skb, unsigned int i,
			    unsigned int *len)
{
	const skb_frag_t *frag = &skb_shinfo(skb)->frags[i];

	*len = skb_frag_size(frag);
	return skb_frag_address(frag);
}

/*
 * Receive fragments: a page for atomic context and its address
 * (alloc_page() and page_address() are macros), appended as the skb's
 * next fragment (skb_add_rx_frag() is an inline of an inline).
 */
struct page *ntbnet_alloc_rx_page(void **addr)
{
	struct page *page = alloc_page(GFP_ATOMIC | __GFP_NOWARN);

	if (page)
		*addr = page_address(page);
	return page;
}

void ntbnet_free_page(struct page *page)
{
	__free_page(page);
}

void ntbnet_skb_add_rx_page(struct sk_buff *skb, struct page *page,
			    unsigned int len)
{
	skb_add_rx_frag(skb, skb_shinfo(skb)->nr_frags, page, 0, len, PAGE_SIZE);
}

/*
 * Transmit queue selection: the queue the skb's socket last used, if any
 * (sk_tx_queue_get() wants a full socket), and the core's own choice
 * (XPS, else the flow hash).
 */
int ntbnet_skb_sk_tx_queue(const struct sk_buff *skb)
{
	const struct sock *sk = skb->sk;

	return sk && sk_fullsock(sk) ? sk_tx_queue_get(sk) : -1;
}

u16 ntbnet_netdev_pick_tx(struct net_device *dev, struct sk_buff *skb,
			  struct net_device *sb_dev)
{
	return netdev_pick_tx(dev, skb, sb_dev);
}

/*
 * Receive interrupt coalescing: a per-queue timer that polls when frames
 * were held back (hrtimer_init() wants the callback set afterwards, and
 * returns an enum the Rust side need not know), pinned to the CPU that
 * armed it, as NAPI's own timer is.
 */
static enum hrtimer_restart ntbnet_hrtimer_fn(struct hrtimer *timer)
{
	struct ntbnet_hrtimer *t = container_of(timer, struct ntbnet_hrtimer, timer);

	t->fn(t);
	return HRTIMER_NORESTART;
}

void ntbnet_hrtimer_setup(struct ntbnet_hrtimer *t,
			  void (*fn)(struct ntbnet_hrtimer *t))
{
	hrtimer_init(&t->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED);
	t->timer.function = ntbnet_hrtimer_fn;
	t->fn = fn;
}

void ntbnet_hrtimer_start_ns(struct ntbnet_hrtimer *t, u64 ns)
{
	hrtimer_start(&t->timer, ns_to_ktime(ns), HRTIMER_MODE_REL_PINNED);
}

void ntbnet_hrtimer_try_cancel(struct ntbnet_hrtimer *t)
{
	hrtimer_try_to_cancel(&t->timer);
}

void ntbnet_hrtimer_cancel(struct ntbnet_hrtimer *t)
{
	hrtimer_cancel(&t->timer);
}

/*
 * Adaptive moderation with lib/dim: net_dim() picks a profile index from
 * samples of a queue's counters; the driver maps the index to its own
 * table. net_dim() queues dim->work when it moved; that work only starts
 * the next measurement, the poll reads the index itself.
 */
static void ntbnet_dim_work(struct work_struct *work)
{
	struct dim *dim = container_of(work, struct dim, work);

	WRITE_ONCE(dim->state, DIM_START_MEASURE);
}

void ntbnet_dim_init(struct dim *dim)
{
	memset(dim, 0, sizeof(*dim));
	INIT_WORK(&dim->work, ntbnet_dim_work);
	dim->mode = DIM_CQ_PERIOD_MODE_START_FROM_CQE;
	dim->state = DIM_START_MEASURE;
}

u8 ntbnet_dim_sample(struct dim *dim, u16 events, u32 packets, u32 bytes)
{
	struct dim_sample s;

	dim_update_sample(events, packets, bytes, &s);
	net_dim(dim, s);
	return READ_ONCE(dim->profile_ix);
}

void ntbnet_dim_cancel(struct dim *dim)
{
	cancel_work_sync(&dim->work);
}

/*
 * Page pools for receive fragments: no DMA mapping (the CPU copies into
 * them), recycled through the pool's ring. NULL rather than an ERR_PTR.
 */
struct page_pool *ntbnet_page_pool_create(unsigned int order, unsigned int size)
{
	struct page_pool_params pp = {
		.order = order,
		.pool_size = size,
		.nid = NUMA_NO_NODE,
	};
	struct page_pool *pool = page_pool_create(&pp);

	return IS_ERR(pool) ? NULL : pool;
}

/*
 * A fragment of at least len bytes: its page, offset, truesize (the
 * aligned size the pool reserved) and address (page_address() is a
 * macro).
 */
struct page *ntbnet_page_pool_alloc_frag(struct page_pool *pool,
					 unsigned int len, unsigned int *off,
					 unsigned int *truesize, void **addr)
{
	struct page *page = page_pool_dev_alloc_frag(pool, off, len);

	if (!page)
		return NULL;
	*truesize = ALIGN(len, max_t(unsigned int, dma_get_cache_alignment(),
				     __alignof__(struct skb_shared_info)));
	*addr = page_address(page) + *off;
	return page;
}

void ntbnet_page_pool_destroy(struct page_pool *pool)
{
	page_pool_destroy(pool);
}

void ntbnet_page_pool_put_frag(struct page_pool *pool, struct page *page)
{
	page_pool_put_page(pool, page, -1, false);
}

/* A pool fragment as the skb's next fragment, recycled when freed. */
void ntbnet_skb_add_pool_frag(struct sk_buff *skb, struct page *page,
			      unsigned int off, unsigned int len,
			      unsigned int truesize)
{
	skb_add_rx_frag(skb, skb_shinfo(skb)->nr_frags, page, off, len, truesize);
	skb_mark_for_recycle(skb);
}

/*
 * TCP segmentation offload (skb_shinfo() is a macro). Returns 0 for a
 * packet without GSO, 1 for TCP over IPv4 or IPv6 (with *mss, *v6, *ecn),
 * -EINVAL for any other GSO type.
 *
 * SKB_GSO_DODGY (a GSO packet from an untrusted source: a peer's GSO
 * frame, a tap, a packet socket, being forwarded or bridged) is accepted,
 * as virtio_net and tun accept it: the device does not offer
 * NETIF_F_GSO_ROBUST, so before the stack hands such a packet over,
 * validate_xmit_skb() runs it through skb_gso_segment(), which checks its
 * IP and TCP headers (inet_gso_segment(), tcp_gso_segment()) and resets
 * gso_segs, and segments it only if the device could not take it anyway.
 */
int ntbnet_skb_tcp_gso(const struct sk_buff *skb, u16 *mss, bool *v6, bool *ecn)
{
	const struct skb_shared_info *sh = skb_shinfo(skb);
	unsigned int proto = sh->gso_type & (SKB_GSO_TCPV4 | SKB_GSO_TCPV6);

	if (!skb_is_gso(skb))
		return 0;
	if (sh->gso_type & ~(SKB_GSO_TCPV4 | SKB_GSO_TCPV6 | SKB_GSO_TCP_ECN |
			     SKB_GSO_DODGY) ||
	    (proto != SKB_GSO_TCPV4 && proto != SKB_GSO_TCPV6))
		return -EINVAL;
	*mss = sh->gso_size;
	*v6 = proto == SKB_GSO_TCPV6;
	*ecn = sh->gso_type & SKB_GSO_TCP_ECN;
	return 1;
}

/*
 * A received large TCP segment from an untrusted sender, as virtio-net
 * receives one (virtio_net_hdr_to_skb()): the IP version must match.
 */
int ntbnet_skb_set_tcp_gso(struct sk_buff *skb, u16 mss, bool v6, bool ecn)
{
	struct skb_shared_info *sh = skb_shinfo(skb);

	if (!mss || mss == GSO_BY_FRAGS ||
	    skb->protocol != htons(v6 ? ETH_P_IPV6 : ETH_P_IP))
		return -EINVAL;
	sh->gso_size = mss;
	sh->gso_type = (v6 ? SKB_GSO_TCPV6 : SKB_GSO_TCPV4) |
		       (ecn ? SKB_GSO_TCP_ECN : 0) | SKB_GSO_DODGY;
	sh->gso_segs = 0;
	return 0;
}

/* MAX_SKB_FRAGS comes from the kernel configuration. */
unsigned int ntbnet_max_skb_frags(void)
{
	return MAX_SKB_FRAGS;
}

/*
 * The NTB irq domain's MSI backend (src/irq/domain/): the pieces of the
 * x86 interrupt hierarchy that are macros, arch types or not exported.
 */

/* The address range MSI writes target: the local APIC's 1 MiB on x86. */
int ntbnet_msi_address_range(u64 *base, u64 *size)
{
#ifdef CONFIG_X86
	*base = (u64)X86_MSI_BASE_ADDRESS_LOW << 20;
	*size = SZ_1M;
	return 0;
#else
	return -EOPNOTSUPP;
#endif
}

/*
 * The allocation info that the parent of an NTB irq domain (the x86 vector
 * domain or the interrupt-remapping domain) expects for one interrupt of a
 * PCI device: remapping reads the requester ID from desc->dev, and hwirq
 * carries the queue to the NTB domain's own alloc callback.
 */
int ntbnet_msi_parent_info(msi_alloc_info_t *info, struct msi_desc *desc,
			   unsigned long hwirq)
{
	memset(info, 0, sizeof(*info));
#ifdef CONFIG_X86
	info->type = X86_IRQ_ALLOC_TYPE_PCI_MSIX;
	info->desc = desc;
	info->hwirq = hwirq;
	return 0;
#else
	return -EOPNOTSUPP;
#endif
}

unsigned long ntbnet_msi_info_hwirq(const msi_alloc_info_t *info)
{
	return info->hwirq;
}

/*
 * The MSI parent domain of a PCI device, found as 6.12 finds it
 * (pci_dev_has_default_msi_parent_domain): the device's own MSI domain,
 * else its bus's. On x86 that is the vector domain, or the remapping
 * domain of the IOMMU unit in front of the device.
 */
struct irq_domain *ntbnet_pci_msi_parent(struct pci_dev *pdev)
{
	struct irq_domain *domain = dev_get_msi_domain(&pdev->dev);

	if (!domain)
		domain = dev_get_msi_domain(&pdev->bus->dev);
	if (!domain || !irq_domain_is_msi_parent(domain))
		return NULL;
	return domain;
}

/*
 * The Switchtec partition of an NTB device that ntb_hw_switchtec registered
 * (its PCI function is the switch's management endpoint, bound to the
 * switchtec driver, whose driver data is the switchtec_dev), or -1. The
 * partitions of one switch have no NTB port numbers of their own (both
 * ends read 0) but distinct partition numbers.
 */
int ntbnet_ntb_switchtec_partition(struct ntb_dev *ntb)
{
	struct pci_dev *pdev = ntb->pdev;
	struct switchtec_dev *stdev;

	if (!pdev || pdev->vendor != PCI_VENDOR_ID_MICROSEMI || !pdev->dev.driver ||
	    strcmp(pdev->dev.driver->name, "switchtec"))
		return -1;
	stdev = pci_get_drvdata(pdev);
	return stdev ? stdev->partition : -1;
}

/*
 * Whether an MSI parent domain remaps interrupts: then a message names an
 * entry of the IOMMU's interrupt remapping table, which checks the
 * requester ID of the write, instead of a vector of a CPU. 1: Intel VT-d
 * (messages in remappable format: address bit 4), 2: AMD-Vi, 0: none.
 */
int ntbnet_msi_parent_remapping(const struct irq_domain *parent)
{
	switch (parent->bus_token) {
	case DOMAIN_BUS_DMAR:
		return 1;
	case DOMAIN_BUS_AMDVI:
		return 2;
	default:
		return 0;
	}
}

/*
 * Allocates one interrupt of a hierarchical domain with an initial
 * affinity of one CPU, the index-th CPU near node: queue interrupts spread
 * over the CPUs as multiqueue drivers spread theirs.
 */
int ntbnet_irq_domain_alloc_spread(struct irq_domain *domain, void *arg,
				   unsigned int index, int node)
{
	struct irq_affinity_desc *affd;
	unsigned int cpu;
	int virq;

	affd = kzalloc(sizeof(*affd), GFP_KERNEL);
	if (!affd)
		return -ENOMEM;
	cpu = cpumask_local_spread(index, node);
	cpumask_copy(&affd->mask, cpumask_of(cpu));
	virq = __irq_domain_alloc_irqs(domain, -1, 1, cpu_to_node(cpu), arg,
				       false, affd);
	kfree(affd);
	return virq;
}

int ntbnet_dev_to_node(struct device *dev)
{
	return dev_to_node(dev);
}

/*
 * The irq_mode module parameter of the NTB irq domain (src/irq/domain/,
 * Mode::from_param): a module that has it defines NTBNET_IRQ_MODE_PARAM
 * before including this file; for the others it reads "auto".
 */
#ifdef NTBNET_IRQ_MODE_PARAM
static char *irq_mode = "auto";
module_param(irq_mode, charp, 0444);
MODULE_PARM_DESC(irq_mode, "Queue interrupt backend: auto, msi or doorbell");
static bool allow_unsafe_msi;
module_param(allow_unsafe_msi, bool, 0444);
MODULE_PARM_DESC(allow_unsafe_msi, "Use the MSI backend without interrupt remapping, where the peer can send any interrupt vector to any CPU through the MSI window: only with a trusted peer (default: off)");
#endif

bool ntbnet_allow_unsafe_msi_param(void)
{
#ifdef NTBNET_IRQ_MODE_PARAM
	return READ_ONCE(allow_unsafe_msi);
#else
	return false;
#endif
}

const char *ntbnet_irq_mode_param(void)
{
#ifdef NTBNET_IRQ_MODE_PARAM
	return irq_mode ? irq_mode : "auto";
#else
	return "auto";
#endif
}

/*
 * ntbnet's tracepoints: net/ntbnet_helpers.c defines NTBNET_TRACEPOINTS and
 * the real functions (TRACE_EVENT, net/ntbnet_trace.h); the other modules
 * get these no-ops.
 */
#ifndef NTBNET_TRACEPOINTS
int ntbnet_param_debug(void)
{
	return -1;
}

void ntbnet_trace_tx_publish(const struct net_device *dev, u16 queue, u32 prod,
			     u32 frames, bool kick)
{
}

void ntbnet_trace_rx_consume(const struct net_device *dev, u16 queue, u32 cons,
			     u32 frames, bool kick)
{
}

void ntbnet_trace_link(const struct net_device *dev, bool up, u32 queues,
		       const char *why)
{
}
#endif

#ifndef NTBNET_IVSHMEM_PARAMS
unsigned int ntbnet_param_peer_timeout_ms(void)
{
	return 0;
}
#endif

#include "bindings_wrappers.c"
