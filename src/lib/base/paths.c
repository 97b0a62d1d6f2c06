/*
 * paths.c - host state locations, honouring ZONEHOST_ROOT.  See paths.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "paths.h"

static char *root_s, *config_s, *run_s, *state_s;

static const char *cached(char **slot, const char *suffix)
{
	if (!*slot && asprintf(slot, "%s%s", paths_root(), suffix) < 0)
		*slot = NULL;
	return *slot ? *slot : suffix;
}

const char *paths_root(void)
{
	if (!root_s) {
		const char *r = getenv("ZONEHOST_ROOT");
		size_t n;

		root_s = strdup(r ? r : "");
		if (!root_s)
			return "";
		n = strlen(root_s);
		while (n > 0 && root_s[n - 1] == '/')
			root_s[--n] = '\0';
	}
	return root_s;
}

const char *paths_config(void)
{
	return cached(&config_s, "/etc/zonehost");
}

const char *paths_run(void)
{
	return cached(&run_s, "/run/zonehost");
}

const char *paths_state(void)
{
	return cached(&state_s, "/var/lib/zonehost");
}

char *paths_pool_mount(const char *pool_name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", paths_root(), pool_name) < 0)
		return NULL;
	return p;
}

char *paths_join(const char *a, const char *b)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", a, b) < 0)
		return NULL;
	return p;
}

void paths_reset(void)
{
	freep(&root_s);
	freep(&config_s);
	freep(&run_s);
	freep(&state_s);
}
