// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the YAML config loader (user/lib/config.c): any
 * bytes, no crash, no sanitizer report, no leak; a refusal is one line
 * that starts with "moat.yaml:".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lib/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[MOAT_ERR_LEN];
	struct moat_config cfg;

	if (moat_config_parse("moat.yaml", (const char *)data, size, &cfg, err, sizeof(err)) == 0) {
		moat_config_free(&cfg);
		return 0;
	}
	if (strncmp(err, "moat.yaml:", 10) || strchr(err, '\n'))
		abort();
	return 0;
}
