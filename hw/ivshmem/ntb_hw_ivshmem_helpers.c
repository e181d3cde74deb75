// SPDX-License-Identifier: GPL-2.0
/* This module's copy of the shared C helpers (see src/bindings/helpers.c). */
#include "../../src/bindings/helpers.c"
