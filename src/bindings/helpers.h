/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hand-written C helpers for macros and for inline functions that bindgen
 * cannot wrap. Each is a thin, behaviour-free call of what it names.
 */
#ifndef NTBNET_HELPERS_H
#define NTBNET_HELPERS_H

#include <linux/hrtimer.h>
#include <linux/irqdomain.h>
#include <linux/msi.h>
#include <linux/ntb.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/timer.h>
#include <linux/workqueue.h>

struct sk_buff;
struct net_device;

int ntbnet_ntb_register_client(struct ntb_client *client);
int ntbnet_pci_register_driver(struct pci_driver *drv);
void ntbnet_timer_setup(struct timer_list *timer,
			void (*func)(struct timer_list *));
unsigned long ntbnet_jiffies(void);
phys_addr_t ntbnet_page_to_phys(struct page *page);
void ntbnet_copy_from_shared(void *dst, const void *src, size_t n);
void ntbnet_memcpy_to_wc(void __iomem *dst, const void *src, size_t n);
int ntbnet_dma_direct_map_sg(struct scatterlist *sgl, int nents);

void ntbnet_mb(void);
void ntbnet_wmb(void);
void ntbnet_rmb(void);
void ntbnet_local_bh_disable(void);
void ntbnet_local_bh_enable(void);
unsigned int ntbnet_num_online_cpus(void);
void ntbnet_init_delayed_work(struct delayed_work *work, work_func_t func);
bool ntbnet_queue_delayed_work(struct delayed_work *work, unsigned long delay);
bool ntbnet_mod_delayed_work(struct delayed_work *work, unsigned long delay);
bool ntbnet_netdev_xmit_more(void);
int ntbnet_set_xps_spread(struct net_device *dev, unsigned int n, int node);
int ntbnet_irq_spread_hint(unsigned int irq, unsigned int index, int node,
			   bool set);
void ntbnet_irq_clear_hint(unsigned int irq);
u8 ntbnet_skb_ip_summed(const struct sk_buff *skb);
void ntbnet_skb_csum_unnecessary(struct sk_buff *skb);
void ntbnet_eth_type_trans(struct sk_buff *skb, struct net_device *dev);
unsigned int ntbnet_skb_nr_frags(const struct sk_buff *skb);
const void *ntbnet_skb_frag(const struct sk_buff *skb, unsigned int i,
			    unsigned int *len);
struct page *ntbnet_alloc_rx_page(void **addr);
void ntbnet_free_page(struct page *page);
void ntbnet_skb_add_rx_page(struct sk_buff *skb, struct page *page,
			    unsigned int len);
unsigned int ntbnet_max_skb_frags(void);
int ntbnet_skb_sk_tx_queue(const struct sk_buff *skb);
u16 ntbnet_netdev_pick_tx(struct net_device *dev, struct sk_buff *skb,
			  struct net_device *sb_dev);
/* A pinned, relative high-resolution timer calling fn in hard-irq context. */
struct ntbnet_hrtimer {
	struct hrtimer timer;
	void (*fn)(struct ntbnet_hrtimer *t);
};
void ntbnet_hrtimer_setup(struct ntbnet_hrtimer *t,
			  void (*fn)(struct ntbnet_hrtimer *t));
void ntbnet_hrtimer_start_ns(struct ntbnet_hrtimer *t, u64 ns);
void ntbnet_hrtimer_try_cancel(struct ntbnet_hrtimer *t);
void ntbnet_hrtimer_cancel(struct ntbnet_hrtimer *t);
/* lib/dim's net_dim for one receive queue. */
struct dim;
void ntbnet_dim_init(struct dim *dim);
u8 ntbnet_dim_sample(struct dim *dim, u16 events, u32 packets, u32 bytes);
void ntbnet_dim_cancel(struct dim *dim);
struct page_pool;
struct page_pool *ntbnet_page_pool_create(unsigned int order, unsigned int size);
struct page *ntbnet_page_pool_alloc_frag(struct page_pool *pool,
					 unsigned int len, unsigned int *off,
					 unsigned int *truesize, void **addr);
void ntbnet_page_pool_destroy(struct page_pool *pool);
void ntbnet_page_pool_put_frag(struct page_pool *pool, struct page *page);
void ntbnet_skb_add_pool_frag(struct sk_buff *skb, struct page *page,
			      unsigned int off, unsigned int len,
			      unsigned int truesize);
int ntbnet_skb_tcp_gso(const struct sk_buff *skb, u16 *mss, bool *v6, bool *ecn);
int ntbnet_skb_set_tcp_gso(struct sk_buff *skb, u16 mss, bool v6, bool ecn);
/* The NTB irq domain's MSI backend (src/irq/domain/). */
int ntbnet_msi_address_range(u64 *base, u64 *size);
int ntbnet_msi_parent_info(msi_alloc_info_t *info, struct msi_desc *desc,
			   unsigned long hwirq);
unsigned long ntbnet_msi_info_hwirq(const msi_alloc_info_t *info);
struct irq_domain *ntbnet_pci_msi_parent(struct pci_dev *pdev);
int ntbnet_msi_parent_remapping(const struct irq_domain *parent);
int ntbnet_ntb_switchtec_partition(struct ntb_dev *ntb);
int ntbnet_irq_domain_alloc_spread(struct irq_domain *domain, void *arg,
				   unsigned int index, int node);
int ntbnet_dev_to_node(struct device *dev);
const char *ntbnet_irq_mode_param(void);
bool ntbnet_allow_unsafe_msi_param(void);

/* A module's `debug` message level parameter, where it has one
 * (net/ntbnet_helpers.c); -1 in the others. */
int ntbnet_param_debug(void);
/* ntb_hw_ivshmem's peer_timeout_ms parameter
 * (hw/ivshmem/ntb_hw_ivshmem_helpers.c); 0 in the others. */
unsigned int ntbnet_param_peer_timeout_ms(void);
/* ntbnet's tracepoints (net/ntbnet_trace.h); no-ops in the other modules. */
void ntbnet_trace_tx_publish(const struct net_device *dev, u16 queue, u32 prod,
			     u32 frames, bool kick);
void ntbnet_trace_rx_consume(const struct net_device *dev, u16 queue, u32 cons,
			     u32 frames, bool kick);
void ntbnet_trace_link(const struct net_device *dev, bool up, u32 queues,
		       const char *why);

#endif
