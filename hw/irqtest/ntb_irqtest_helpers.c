// SPDX-License-Identifier: GPL-2.0
/*
 * This module's copy of the shared C helpers (see src/bindings/helpers.c), with the
 * NTB irq domain's irq_mode module parameter.
 */
#define NTBNET_IRQ_MODE_PARAM
#include "../../src/bindings/helpers.c"
