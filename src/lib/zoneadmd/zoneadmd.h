/*
 * zoneadmd.h - the zoneadmd core: one supervisor per running VM, as a
 * library (docs/architecture.md §7).  src/cmd/zoneadmd.c is only
 * its main:
 *
 *     struct zad_opts o = {.uuid = uuid, .notify_fd = 3};
 *     return zoneadmd_run(&o);
 *
 * What the files of this folder share: the daemon's one state object
 * (struct zad) and the entry points of each concern.  Bottom up (each
 * file calls only those above it in this list, so the modules form no
 * cycle; tools/module-cycles checks it):
 *   zoneadmd-log.c      JSON-lines logs, rotated by size
 *   zoneadmd-base.c     the state object: init, log line, epoll watches,
 *                       state.json, the stored config
 *   zoneadmd-clients.c  the control clients' list, answering waiters
 *   zoneadmd-sentinel.c the process that cleans up when zoneadmd is killed
 *   zoneadmd-console.c  console pty, console log, relay to clients
 *   zoneadmd-mdata.c    the metadata server: spawn, transports, view, end
 *   zoneadmd-mdata-job.c the metadata server's requests: guest updates run
 *                       as `vmadm update`, the view re-read; its free
 *   zoneadmd.c          the state machine: boot, stop, reboot, init's end,
 *                       the stop timeout, the end of the VM
 *   zoneadmd-ctl.c      the control socket: accept, read, command table
 *   brand.h             struct brand_ops: what differs between brands
 *   brand-zone-net.c    the OS zone's network (VNICs, nft)
 *   brand-zone.c        the OS zone brands (joyent, joyent-minimal, lx, ...)
 *   zoneadmd-stdio.c    a docker zone's stdout/stderr into logs/stdio.log
 *   brand-docker.c      docker zones made by vmadm (one process, §24.3)
 *   brand-oci.c         OCI containers (--oci: gate, console socket, §24.3)
 *   zoneadmd-run.c      set-up in order, the boot result, the epoll loop
 *
 * The state machine never exits the process: zad_end() records the end
 * and sets z->ended; the loop returns z->exit_code to main.  Everything a
 * brand does to the payload goes through z->ops, so tests drive the state
 * machine with a fake brand (tests/unit/test-zoneadmd.c).
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

#define ZAD_EXIT_OK  0
#define ZAD_EXIT_ERR 1

struct brand_ops;

/* What main hands the core. */
struct zad_opts {
	const char *uuid;
	int notify_fd; /* the boot result goes here (one ctl frame); -1 none */
	/* `vmadm start`'s one-boot extras of a hardware VM, JSON (vmcfg-start.h); or NULL. */
	const char *start_opts;
	/*
	 * Commands numbered at or above this are answered "unknown" as a
	 * zoneadmd of an older release would (0: every command known).
	 * Only tests set it (tests/helpers/zoneadmd-v1.c).
	 */
	uint16_t ctl_max;
	/*
	 * --oci: the VM is an OCI container (docs/architecture.md §24.3): its
	 * process waits at the start gate until CTL_START; our 0, 1, 2 become
	 * its stdio (terminal=false), our fds 3 .. 3+preserve_fds-1 its 3..;
	 * with console_socket, the master of its pty is sent there.
	 */
	bool oci;
	const char *console_socket;
	int preserve_fds;
};

/* Set up, boot, serve until the VM ends; returns the exit code. */
struct brand_ops;
int zoneadmd_run(const struct zad_opts *o);

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

/* The metadata server of the running payload (zoneadmd-mdata.c). */
struct zad_mdata_job;
struct zad_mdata {
	int chan;  /* our end of the channel (mdsrv-chan.h); -EBADF none */
	pid_t pid; /* mdatad */
	int pidfd;
	uint64_t gen;		     /* bumped per server: answers go only to the one that asked */
	int serial_master;	     /* zone: the server's serial line (our copy, for a restart) */
	int lfd;		     /* zone: the listening socket (likewise) */
	int restarts;		     /* servers started again this boot */
	int serial_slave;	     /* zone: kept (bound at /dev/ttyS1 by zone_spawn) */
	char *dir;		     /* zone: <run>/<uuid>/zonecontrol, the socket's */
	char tool[4096];	     /* zone: the static mdata tool, or "" */
	int timer, tries;	     /* HVM: retrying the connection to QEMU */
	char *server_uuid;	     /* cached for the view */
	struct zad_mdata_job *queue; /* guest updates; the first one runs */
	int job_pidfd, job_out;	     /* the running `vmadm update`, its output */
	int job_timer;		     /* paces the jobs */
	uint64_t job_next_ms;	     /* the next job starts no sooner */
};

/* docker zones and OCI containers (brand-docker.c, brand-oci.c; docs/architecture.md §24.3). */
struct zad_stdio_stream {
	int fd;		 /* read end of the process's stdout or stderr pipe; -EBADF */
	char line[8192]; /* a partial line */
	size_t used;
};

struct zad_docker {
	bool oci;		    /* --oci */
	const char *console_socket; /* --oci: where the pty master goes (terminal=true) */
	int stdio[3];		    /* --oci: our inherited 0, 1, 2 set aside; -EBADF once given */
	int keep[ZONE_RUN_FDS_MAX]; /* --oci --preserve-fds: our 3.., set aside */
	size_t nkeep;
	int gate;	   /* write end of the start gate; -EBADF when none or opened */
	bool created;	   /* at the gate: state "created" until CTL_START */
	bool caller_reaps; /* CLONE_PARENT: the exit status is the caller's */
	struct zad_stdio_stream out[2]; /* docker (vmadm): stdout, stderr relayed to stdio.log */
	struct zlog log;		/* <zonepath>/logs/stdio.log */
	void *spec;			/* brand-oci.c: the parsed config.json */
};

struct zad {
	char uuid[UTIL_UUID_LEN + 1];
	const struct brand_ops *ops;
	/* (Re)load the stored config into pool/vm (zad_load_stored; tests fake it). */
	int (*load)(struct zad *z, struct zh_error *err);
	uint16_t ctl_max;

	int notify_fd;	 /* -EBADF once answered */
	int lock_fd;	 /* runstate lock (shared with the sentinel) */
	int sentinel_fd; /* write end: 'x' = clean end, EOF = we died */
	pid_t sentinel_pid;
	int sentinel_pidfd;

	struct pool *pool;
	json_t *vm;	    /* decorated config */
	json_t *start_opts; /* this run's `vmadm start` extras (vmcfg-start.h), or NULL */
	char *zonepath, *root;
	uid_t id_base;
	int halt_sig, reboot_sig; /* picked by ops->prepare */
	int stop_timeout;	  /* seconds before a stop forces; 0 = 60 (ops->prepare) */

	int epfd, sigfd, lfd, timerfd;
	struct zone_proc zp; /* the payload (init); pidfd -EBADF when none */
	char boot_ts[UTIL_TIMESTAMP_LEN + 1];
	enum zad_phase phase;
	bool cgroup_made;
	bool net_made; /* VNICs / nft table may exist (the network hook ran) */
	bool ended;    /* zad_end ran: the loop returns exit_code */
	int exit_code;

	int pty_master, pty_slave;
	struct zlog conlog, log;
	struct zad_client *clients;
	struct zad_mdata mdata;
	struct zad_docker dk;
};

/* epoll tags (high 32 bits of epoll_data.u64; low 32 bits: the fd). */
enum {
	ZT_SIG = 1,
	ZT_INIT,
	ZT_LISTEN,
	ZT_CLIENT,
	ZT_PTY,
	ZT_TIMER,
	ZT_SENTINEL,
	ZT_MDATA,	   /* the metadata server's channel */
	ZT_MDATA_PID,	   /* the metadata server ended */
	ZT_MDATA_JOB,	   /* a guest's `vmadm update` ended */
	ZT_MDATA_TIMER,	   /* HVM: retry the serial line */
	ZT_MDATA_JOBTIMER, /* the next guest update may start */
	ZT_STDIO,	   /* docker: the process's stdout or stderr pipe */
};

/* zoneadmd-log.c */
int zlog_open(struct zlog *l, const char *dir, const char *name, uint64_t max,
	      struct zh_error *err);
void zlog_write(struct zlog *l, const char *stream, const char *msg, size_t len);
/* One whole record (with its newline) as it is; rotates like zlog_write. */
void zlog_append(struct zlog *l, const char *rec, size_t len);
/* Console bytes: split into lines, each line one record. */
void zlog_console(struct zlog *l, const char *buf, size_t len);
void zlog_close(struct zlog *l);

/* zoneadmd-base.c: the state object */
void zad_init(struct zad *z, const char *uuid, const struct brand_ops *ops);
void zad_logf(struct zad *z, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int zad_watch(struct zad *z, int fd, int tag, uint32_t events);
void zad_unwatch(struct zad *z, int fd);
/* epoll, signalfd (SIGTERM, SIGINT, SIGHUP blocked) and the stop timer. */
int zad_events_open(struct zad *z, struct zh_error *err);
int zad_write_state(struct zad *z, const char *state);
int zad_load_stored(struct zad *z, struct zh_error *err);

/* zoneadmd-clients.c */
/* A new client on a connected socket fd (taken). */
int zad_client_add(struct zad *z, int fd);
void zad_client_close(struct zad *z, struct zad_client *c);
void zad_clients_close_all(struct zad *z);
/* Answer every client waiting for cmd (status, payload may be NULL). */
void zad_reply_waiters(struct zad *z, uint16_t cmd, int32_t status, const json_t *payload);

/* zoneadmd-sentinel.c */
int zad_sentinel_start(struct zad *z, struct zh_error *err);
void zad_sentinel_done(struct zad *z);
void zad_sentinel_respawn(struct zad *z);

/* zoneadmd-console.c */
/* A pty for the payload's console; the slave owned by owner (uid = gid). */
int zad_console_pty(struct zad *z, uid_t owner, struct zh_error *err);
void zad_console_read(struct zad *z);
void zad_console_input(struct zad *z, struct zad_client *c);
void zad_console_close(struct zad *z);

/* zoneadmd-mdata.c: the metadata server (docs/architecture.md §23) */
/* Start it for this boot (a zone's transports made, an HVM's attached later). */
int zad_mdata_start(struct zad *z, struct zh_error *err);
/* Send it the VM view (after each re-read of the config). */
void zad_mdata_push(struct zad *z);
/* End it (the payload ended). */
void zad_mdata_stop(struct zad *z);
/* HVM: (re)connect the serial line to QEMU, retrying. */
void zad_mdata_reattach(struct zad *z);
void zad_mdata_on_timer(struct zad *z);
void zad_mdata_on_exit(struct zad *z);

/* zoneadmd-mdata-job.c: the server's messages, guest updates through `vmadm update` */
void zad_mdata_on_chan(struct zad *z);
void zad_mdata_on_job(struct zad *z);
void zad_mdata_on_job_timer(struct zad *z);
/* Re-read the stored config and push it (CTL_MDATA; after a guest update). */
void zad_mdata_refresh(struct zad *z);
void zad_mdata_free(struct zad *z);

/* zoneadmd.c: the state machine */
/* Free what is left (after zad_end, or a set-up that failed early). */
void zad_free(struct zad *z);
/* Load the config again, let the brand re-read it, apply the live limits. */
int zad_reload(struct zad *z, struct zh_error *err);
/* Boot the payload: ZAD_RUNNING, state.json "running". */
int zad_boot(struct zad *z, struct zh_error *err);
int zad_stop(struct zad *z, int timeout, bool force);
int zad_reboot(struct zad *z, bool force, int timeout);
/* After zad_reload: apply changed nics/routes to the running payload. */
int zad_net_update(struct zad *z, const json_t *old, struct zh_error *err);
/* Events: the payload's pidfd is readable; the stop timer fired; a signal. */
void zad_on_init_exit(struct zad *z);
void zad_on_timer(struct zad *z);
void zad_on_signal(struct zad *z, int sig);
/* The VM is over: record, clean, answer; sets z->ended.  failed: set-up failure. */
void zad_end(struct zad *z, int status, const char *failed);

/* zoneadmd-stdio.c: a docker zone's stdout/stderr as docker json-file lines */
/* Pipes for the process's 1 and 2 (write ends in w[], ours watched); the log opened. */
int zad_stdio_open(struct zad *z, int w[2], struct zh_error *err);
void zad_stdio_read(struct zad *z, int fd);
void zad_stdio_close(struct zad *z);

/* zoneadmd-ctl.c */
void zad_accept(struct zad *z);
void zad_client_event(struct zad *z, int fd, uint32_t events);

#endif
