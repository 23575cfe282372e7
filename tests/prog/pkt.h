/* SPDX-License-Identifier: GPL-2.0 */
/* Moved to tests/lib/pkt.h; this name stays until tests/bench includes that. */
#include "../lib/pkt.h"
