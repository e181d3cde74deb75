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

#include "bindings_wrappers.c"
