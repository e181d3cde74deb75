/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hand-written C helpers for macros and for inline functions that bindgen
 * cannot wrap. Each is a thin, behaviour-free call of what it names.
 */
#ifndef NTBNET_HELPERS_H
#define NTBNET_HELPERS_H

#include <linux/ntb.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/timer.h>

int ntbnet_ntb_register_client(struct ntb_client *client);
int ntbnet_pci_register_driver(struct pci_driver *drv);
void ntbnet_timer_setup(struct timer_list *timer,
			void (*func)(struct timer_list *));
unsigned long ntbnet_jiffies(void);
phys_addr_t ntbnet_page_to_phys(struct page *page);
int ntbnet_dma_direct_map_sg(struct scatterlist *sgl, int nents);

#endif
