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

#include "bindings_wrappers.c"
