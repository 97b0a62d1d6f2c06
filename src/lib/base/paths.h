/*
 * paths.h - where host state lives.
 *
 * Owns: the mapping from logical locations to file-system paths.  With
 * ZONEHOST_ROOT=DIR in the environment every location moves under DIR, so
 * test runs and benchmarks never touch each other or the host's own state:
 *
 *     location            default                     with ZONEHOST_ROOT=R
 *     host config         /etc/zonehost               R/etc/zonehost
 *     run directory       /run/zonehost               R/run/zonehost
 *     state (pool files)  /var/lib/zonehost           R/var/lib/zonehost
 *     pool mount point    /<pool name>  (/zones)      R/<pool name>
 *
 *     _cleanup_free_ char *p = paths_join(paths_config(), "pools");
 *
 * Returned const strings are owned by this module and live for the process.
 */
#ifndef ZH_PATHS_H
#define ZH_PATHS_H

/* "" when ZONEHOST_ROOT is unset, else the (absolute) root without a trailing slash. */
const char *paths_root(void);
const char *paths_config(void);
const char *paths_run(void);
const char *paths_state(void);

/* Newly allocated "<paths_root()>/<pool_name>"; NULL on ENOMEM. */
char *paths_pool_mount(const char *pool_name);

/* Newly allocated "a/b"; NULL on ENOMEM. */
char *paths_join(const char *a, const char *b);

/* Forget cached values (tests that change ZONEHOST_ROOT in-process). */
void paths_reset(void);

#endif
