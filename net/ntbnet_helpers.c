// SPDX-License-Identifier: GPL-2.0
/*
 * This module's copy of the shared C helpers (see src/bindings/helpers.c), with the
 * NTB irq domain's irq_mode parameter and the test modes.
 */
#define NTBNET_IRQ_MODE_PARAM
#define NTBNET_TEST_PARAMS
#include "../src/bindings/helpers.c"
