// SPDX-License-Identifier: GPL-2.0-only
/* The tracepoints of vmc_trace.h, instantiated once for the module. */
#define CREATE_TRACE_POINTS
#include "vmc_trace.h"
