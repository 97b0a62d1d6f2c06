/*
 * zoneadmd.h - what the zoneadmd files share: the daemon's one state
 * object and the entry points of each concern.
 *
 *   zoneadmd.c          main, set-up, the epoll loop, boot/reboot/end,
 *                       the sentinel (see the design comment there)
 *   zoneadmd-console.c  console pty, console log, relay to clients
 *   zoneadmd-ctl.c      control socket clients and the command table
 *   zoneadmd-log.c      JSON-lines logs, rotated by size
 */
#ifndef ZH_ZONEADMD_H
#define ZH_ZONEADMD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "pool.h"
#include "util.h"
#include "zone.h"

/* A JSON-lines log file, rotated (one old generation, .0) by size. */
struct zlog {
	int fd;
	char *path;
	uint64_t size, max;
	char line[2048]; /* console: pending partial line */
	size_t used;
};

enum zad_phase { ZAD_BOOTING, ZAD_RUNNING, ZAD_STOPPING, ZAD_REBOOTING };

struct zad_client {
	int fd;
	bool console;
	uint16_t waiting; /* CTL_STOP / CTL_REBOOT: reply when done; 0 none */
	struct zad_client *next;
};

struct zad {
	char uuid[UTIL_UUID_LEN + 1];
	int notify_fd;	 /* -EBADF once answered */
	int lock_fd;	 /* runstate lock (shared with the sentinel) */
	int sentinel_fd; /* write end: 'x' = clean end, EOF = we died */
	pid_t sentinel_pid;
	int sentinel_pidfd;

	struct pool *pool;
	json_t *vm; /* decorated config */
	char *zonepath, *root;
	uid_t id_base;
	int halt_sig, reboot_sig;

	int epfd, sigfd, lfd, timerfd;
	struct zone_proc zp; /* pidfd -EBADF when no init */
	char boot_ts[UTIL_TIMESTAMP_LEN + 1];
	enum zad_phase phase;
	bool reboot_force;
	bool cgroup_made;
	bool net_made; /* VNICs / nft table may exist (net_hook ran) */

	int pty_master, pty_slave;
	struct zlog conlog, log;
	struct zad_client *clients;
};

/* epoll tags (high 32 bits of epoll_data.u64; low 32 bits: the fd). */
enum { ZT_SIG = 1, ZT_INIT, ZT_LISTEN, ZT_CLIENT, ZT_PTY, ZT_TIMER, ZT_SENTINEL };

int zad_watch(struct zad *z, int fd, int tag, uint32_t events);

/* zoneadmd.c */
void zad_logf(struct zad *z, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int zad_write_state(struct zad *z, const char *state);
int zad_stop(struct zad *z, int timeout, bool force);
int zad_reboot(struct zad *z, bool force, int timeout);
int zad_reload(struct zad *z, struct zh_error *err);
/* After zad_reload: apply changed nics/routes to the running zone (old: the config before). */
int zad_net_update(struct zad *z, const json_t *old, struct zh_error *err);

/* zoneadmd-log.c */
int zlog_open(struct zlog *l, const char *dir, const char *name, uint64_t max,
	      struct zh_error *err);
void zlog_write(struct zlog *l, const char *stream, const char *msg, size_t len);
/* Console bytes: split into lines, each line one record. */
void zlog_console(struct zlog *l, const char *buf, size_t len);
void zlog_close(struct zlog *l);

/* zoneadmd-console.c */
int zad_console_open(struct zad *z, struct zh_error *err);
void zad_console_read(struct zad *z);
void zad_console_input(struct zad *z, struct zad_client *c);
void zad_console_close(struct zad *z);

/* zoneadmd-ctl.c */
void zad_accept(struct zad *z);
void zad_client_event(struct zad *z, int fd, uint32_t events);
/* Answer every client waiting for cmd (status, payload may be NULL). */
void zad_reply_waiters(struct zad *z, uint16_t cmd, int32_t status, const json_t *payload);
void zad_client_close(struct zad *z, struct zad_client *c);
void zad_clients_close_all(struct zad *z);

#endif
