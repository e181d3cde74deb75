// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers linked into each module: the macros of helpers.h, then the
 * wrappers that bindgen generated for the static inline functions.
 * Each module compiles this file once, through its own one-line C file,
 * so that no object is shared between two modules.
 */
#include "bindings_helper.h"

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

#include "bindings_wrappers.c"
