/*
 * runc.h - zonehost-runc, the OCI runtime command line (docs/architecture.md
 * §24): what its command files share.
 *
 * A container is a zonehost VM (brand lx, docker true, oci_bundle set);
 * zonehost-runc keeps only a small record per container id under --root
 * (default /run/zonehost-runc): <root>/<id>/container.json with the VM's
 * uuid, the bundle, the creation time, the annotations and the hooks to
 * run at delete.  Everything else (is it live, its init's pid, its state
 * "created" or "running") comes from the VM's runtime files, which its
 * zoneadmd keeps (runstate.h): the record survives this process, and so
 * does the container.
 *
 * Errors follow the contract callers parse (runc's error
 * strings, containerd's log.json): one message, exit 1, an "error" record
 * in --log (JSON with --log-format json) and the plain message on stderr.
 */
#ifndef ZH_RUNC_H
#define ZH_RUNC_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "util.h"

#define RT_DEFAULT_ROOT "/run/zonehost-runc"
#define RT_NAME		"zonehost-runc"

struct rt {
	const char *root; /* state directory */
	int log_fd;	  /* --log, or -1 for stderr */
	bool log_json;	  /* --log-format json */
	bool systemd_cgroup;
	const char *cmd; /* the command running, for messages */
};

/* Log an error record, print it on stderr (when --log is a file), return 1. */
int rt_fail(struct rt *rt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* rt_fail with err's message (cleared), after an optional prefix ("" = none). */
int rt_fail_err(struct rt *rt, struct zh_error *err, const char *prefix);
/* A record at another level (debug, info, warning). */
void rt_log(struct rt *rt, const char *level, const char *msg);
/* "<argv0>: \"<cmd>\" requires exactly N argument(s)" and the usage: exit 1. */
int rt_usage(struct rt *rt, const char *how, int n);

/* ---- the container record (runc-store.c) ---- */

enum ctr_status { CTR_CREATING, CTR_CREATED, CTR_RUNNING, CTR_PAUSED, CTR_STOPPED };

struct ctr {
	char id[1025];
	char uuid[UTIL_UUID_LEN + 1];
	char *bundle, *rootfs, *created, *owner;
	json_t *annotations; /* object or NULL */
	json_t *hooks;	     /* the config's "hooks" (poststop runs at delete) or NULL */
};

void ctr_clear(struct ctr *c);
/* Load <root>/<id>: -ENOENT with "container does not exist". */
int ctr_load(const struct rt *rt, const char *id, struct ctr *c, struct zh_error *err);
/* Make <root>/<id> (EEXIST: "container with given ID already exists"). */
int ctr_reserve(const struct rt *rt, const char *id, struct zh_error *err);
int ctr_save(const struct rt *rt, const struct ctr *c, struct zh_error *err);
void ctr_remove(const struct rt *rt, const char *id);
/* Ids under the root, sorted; NULL-ended, free with util_strv_free-like free. */
char **ctr_list_ids(const struct rt *rt);

/* The live status and init pid (0 when not live). */
enum ctr_status ctr_status(const struct ctr *c, pid_t *pid);
const char *ctr_status_name(enum ctr_status s);
/* The OCI state of c (§24.4); owner filled for list. */
struct oci_state;
void ctr_to_state(const struct ctr *c, struct oci_state *st, bool with_owner);
/* Wait (bounded) for its zoneadmd to end; then remove the VM. */
int ctr_destroy(const struct ctr *c, struct zh_error *err);

/* ---- hooks (runc-hooks.c) ---- */

/* Run hooks[phase] with the state (status, pid) on stdin; -errno and err. */
int rt_hooks_run(const struct ctr *c, const json_t *hooks, const char *phase, const char *status,
		 pid_t pid, struct zh_error *err);

/* ---- commands ---- */

int cmd_create(struct rt *rt, int argc, char **argv);
int cmd_start(struct rt *rt, int argc, char **argv);
int cmd_run(struct rt *rt, int argc, char **argv);
int cmd_state(struct rt *rt, int argc, char **argv);
int cmd_list(struct rt *rt, int argc, char **argv);
int cmd_kill(struct rt *rt, int argc, char **argv);
int cmd_delete(struct rt *rt, int argc, char **argv);
int cmd_exec(struct rt *rt, int argc, char **argv);
int cmd_ps(struct rt *rt, int argc, char **argv);
int cmd_pause(struct rt *rt, int argc, char **argv);
int cmd_resume(struct rt *rt, int argc, char **argv);
int cmd_update(struct rt *rt, int argc, char **argv);
int cmd_events(struct rt *rt, int argc, char **argv);
int cmd_features(struct rt *rt, int argc, char **argv);
int cmd_checkpoint(struct rt *rt, int argc, char **argv);

/* Shared option parsing: "--opt value" and "--opt=value" (runc and go-runc use both). */
struct rt_opt {
	const char *longname;
	char shortname;
	bool has_arg;
	int id;
};
/*
 * Next option of argv from *i; returns its id, 0 at the first operand (or
 * after "--"), -1 (message printed) on an unknown option or a missing value.
 * *val gets the value of an option that has one.
 */
int rt_getopt(struct rt *rt, int argc, char **argv, int *i, const struct rt_opt *opts,
	      const char **val);

/* Write a pid file as runc does: ".<name>" then rename, decimal, no newline. */
int rt_write_pidfile(const char *path, pid_t pid, struct zh_error *err);
/* Send fd over the console socket at path: one message, the pty name, one SCM_RIGHTS. */
int rt_send_console(const char *path, int master, const char *name, struct zh_error *err);

#endif
