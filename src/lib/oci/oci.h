/*
 * oci.h - the OCI runtime spec as zonehost reads and writes it
 * (docs/architecture.md §24): config.json parsed into plain C, its seccomp
 * profile compiled to BPF, its linux.resources mapped to vmadm limits, and
 * the JSON the runtime prints (state, features, log records).
 *
 * Owns: the struct oci_spec a parse returns (free with oci_spec_free) and
 * the strings and programs the other calls return.  Pure: nothing here
 * touches the host beyond reading config.json (oci_config_load) and a
 * memfd to export BPF (oci_seccomp_compile); nothing logs, prints or exits.
 *
 *     struct zh_error err = ZH_ERROR_INIT;
 *     struct oci_spec *s = oci_config_load(AT_FDCWD, "/run/b/c1", &err);
 *     if (!s)
 *             fail(err.msg);   // "open /run/b/c1/config.json: No such file..."
 *     struct sock_fprog prog;  // loaded after zonehost's own filter
 *     unsigned int flags;
 *     if (oci_seccomp_compile(s, &prog, &flags, &err) < 0) ...
 *     json_t *limits = oci_resources_to_payload(&s->lnx.resources, &err);
 *
 * Errors (struct zh_error, errnum EINVAL for bad input) name the JSON path
 * in prop and at the start of msg: "process.args: must be a non-empty
 * array of strings", "mounts[2].destination: must be an absolute path",
 * "linux.seccomp.syscalls[4].action: unknown action \"SCMP_ACT_FOO\"".
 * oci_config_load prefixes "config.json: ".  Unknown keys are ignored, as
 * the spec says; a JSON null counts as absent; every present key is
 * type-checked; sizes and counts are bounded (OCI_CONFIG_MAX etc.).  The
 * number 18446744073709551615 (Go's uint64 -1, e.g. an unlimited rlimit) is
 * read as -1, which jansson's int64 can hold.
 */
#ifndef ZH_OCI_H
#define ZH_OCI_H

#include <jansson.h>
#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"

#define OCI_CONFIG_MAX (4u << 20) /* bytes of config.json */
#define OCI_ARRAY_MAX  65536	  /* entries in any one array or object */
#define OCI_PATH_MAX   4096	  /* bytes of a path */
#define OCI_STRING_MAX (1u << 20) /* bytes of any other string */
#define OCI_ID_MAX     1024	  /* bytes of a container id */
#define OCI_VERSION    "1.2.0"	  /* what state and features say */
#define OCI_CAP_LAST   40	  /* CAP_CHECKPOINT_RESTORE */

/* ---- process ------------------------------------------------------------ */

enum oci_cap_set {
	OCI_CAP_BOUNDING,
	OCI_CAP_EFFECTIVE,
	OCI_CAP_INHERITABLE,
	OCI_CAP_PERMITTED,
	OCI_CAP_AMBIENT,
	OCI_CAP_NSETS,
};

struct oci_rlimit {
	int type;	     /* RLIMIT_* */
	uint64_t soft, hard; /* RLIM_INFINITY for -1 or 18446744073709551615 */
};

struct oci_process {
	bool terminal;
	unsigned int console_height, console_width; /* 0 when absent */
	uint32_t uid, gid;
	bool has_umask;
	mode_t umask;
	gid_t *additional_gids;
	size_t n_additional_gids;
	char **args;		      /* non-empty, NULL-terminated */
	char **env;		      /* NULL-terminated, maybe empty */
	char *cwd;		      /* absolute */
	bool has_caps[OCI_CAP_NSETS]; /* the set was given */
	uint64_t caps[OCI_CAP_NSETS]; /* bit n = capability n */
	struct oci_rlimit *rlimits;   /* no type twice */
	size_t n_rlimits;
	bool no_new_privileges;
	bool has_oom_score_adj;
	int oom_score_adj; /* -1000..1000 */
};

/* ---- mounts ------------------------------------------------------------- */

struct oci_mount {
	char *destination;	   /* absolute */
	char *type;		   /* NULL when absent ("bind" when only bind options) */
	char *source;		   /* NULL when absent */
	unsigned long flags;	   /* MS_* set by the options (MS_BIND|MS_REC for rbind) */
	unsigned long clear;	   /* MS_* an option cleared (rw, suid, dev, exec, ...) */
	unsigned long propagation; /* MS_PRIVATE|MS_SHARED|MS_SLAVE|MS_UNBINDABLE [|MS_REC], or 0 */
	uint64_t attr_set, attr_clr; /* MOUNT_ATTR_* of the recursive options (rro, rnosuid, ...) */
	char *data;	/* the other options, comma-joined ("mode=755,size=65536k"), or NULL */
	bool tmpcopyup; /* "tmpcopyup" (runc, crun, Podman's tmpfs): copy the image's files in */
};

/* ---- hooks -------------------------------------------------------------- */

enum oci_hook_phase {
	OCI_HOOK_PRESTART,
	OCI_HOOK_CREATE_RUNTIME,
	OCI_HOOK_CREATE_CONTAINER,
	OCI_HOOK_START_CONTAINER,
	OCI_HOOK_POSTSTART,
	OCI_HOOK_POSTSTOP,
	OCI_HOOK_NPHASES,
};

struct oci_hook {
	char *path;  /* absolute */
	char **args; /* argv including argv[0]; NULL when absent */
	char **env;  /* NULL when absent */
	int timeout; /* seconds, > 0; 0 = none */
};

struct oci_hook_list {
	struct oci_hook *v;
	size_t n;
};

/* ---- linux -------------------------------------------------------------- */

enum oci_ns_type {
	OCI_NS_PID,
	OCI_NS_NETWORK,
	OCI_NS_MOUNT,
	OCI_NS_IPC,
	OCI_NS_UTS,
	OCI_NS_USER,
	OCI_NS_CGROUP,
	OCI_NS_TIME,
	OCI_NS_NTYPES,
};

struct oci_namespace {
	enum oci_ns_type type; /* no type twice */
	char *path;	       /* absolute: join it; NULL: a new one */
};

struct oci_idmap {
	uint32_t container_id, host_id, size;
};

/* Which members of struct oci_resources were given (bits of .set). */
enum {
	OCI_RES_MEM_LIMIT = 1u << 0,
	OCI_RES_MEM_RESERVATION = 1u << 1,
	OCI_RES_MEM_SWAP = 1u << 2,
	OCI_RES_CPU_SHARES = 1u << 3,
	OCI_RES_CPU_QUOTA = 1u << 4,
	OCI_RES_CPU_PERIOD = 1u << 5,
	OCI_RES_PIDS_LIMIT = 1u << 6,
	OCI_RES_BLKIO_WEIGHT = 1u << 7,
};

struct oci_resources {
	unsigned int set;				       /* OCI_RES_* */
	int64_t memory_limit, memory_reservation, memory_swap; /* bytes; -1 = unlimited */
	uint64_t cpu_shares;	   /* cgroup v1 shares (1024 = default) */
	int64_t cpu_quota;	   /* us per period; -1 = none */
	uint64_t cpu_period;	   /* us */
	char *cpu_cpus, *cpu_mems; /* cpuset lists, or NULL */
	int64_t pids_limit;	   /* <= 0 = unlimited */
	uint16_t blkio_weight;	   /* 10..1000 */
	json_t *devices;	   /* the devices array as given, or NULL */
};

struct oci_linux {
	struct oci_namespace *namespaces;
	size_t n_namespaces;
	struct oci_idmap *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	char *cgroups_path; /* NULL when absent */
	struct oci_resources resources;
	json_t *sysctl;	     /* object of strings, or NULL */
	char **masked_paths; /* absolute; NULL when absent */
	char **readonly_paths;
	json_t *seccomp;		  /* the profile for oci_seccomp_compile, or NULL */
	unsigned long rootfs_propagation; /* MS_* like oci_mount.propagation, 0 = absent */
	json_t *devices;		  /* linux.devices as given, or NULL */
};

/* ---- the whole config --------------------------------------------------- */

struct oci_spec {
	char *oci_version;	     /* 1.0.x .. 1.2.x (suffixes such as "-dev" allowed) */
	struct oci_process *process; /* never NULL: process is required */
	char *root_path;	     /* absolute after oci_config_load; as given after parse */
	bool root_readonly;
	char *hostname, *domainname; /* NULL when absent */
	struct oci_mount *mounts;
	size_t n_mounts;
	struct oci_hook_list hooks[OCI_HOOK_NPHASES];
	json_t *annotations;  /* object of strings, or NULL */
	struct oci_linux lnx; /* "linux" is a GNU C macro */
};

/*
 * Parse config.json text (at most OCI_CONFIG_MAX bytes).  NULL and *err on
 * any error (messages as above, no "config.json: " prefix).  root_path is
 * left as written (relative to the bundle, usually).
 */
struct oci_spec *oci_config_parse(const char *json, size_t len, struct zh_error *err);

/*
 * Open <bundle>/config.json relative to dirfd (AT_FDCWD or a directory)
 * with O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC, check it is a regular file of at
 * most OCI_CONFIG_MAX bytes and parse it; a relative root.path is joined
 * to bundle.  Messages usable as they are: "open <bundle>/config.json:
 * No such file or directory", "config.json: process.args: ...".
 */
struct oci_spec *oci_config_load(int dirfd, const char *bundle, struct zh_error *err);

/* Free a spec; NULL is fine. */
void oci_spec_free(struct oci_spec *s);

/*
 * The parts callers also take on their own: a `process` object (exec
 * --process; messages say "process.<field>") and a LinuxResources object
 * (update --resources; messages say "<field>", e.g. "memory.limit").
 */
struct oci_process *oci_process_parse(const char *json, size_t len, struct zh_error *err);
void oci_process_free(struct oci_process *p);
int oci_resources_parse(const char *json, size_t len, struct oci_resources *out,
			struct zh_error *err);
void oci_resources_clear(struct oci_resources *r);

/* Capability, rlimit, namespace and hook names ("CAP_CHOWN", "RLIMIT_NOFILE", "network",
 * "createRuntime"), or NULL out of range. */
const char *oci_cap_name(int cap);
const char *oci_rlimit_name(int type);
const char *oci_ns_name(enum oci_ns_type t);
const char *oci_hook_name(enum oci_hook_phase p);

/* ---- seccomp ------------------------------------------------------------ */

/*
 * Compile s->lnx.seccomp with libseccomp into a classic BPF program for
 * the caller to load with seccomp(SECCOMP_SET_MODE_FILTER, *flags, out)
 * AFTER zonehost's own filter (never instead of it).  *flags gets the
 * profile's SECCOMP_FILTER_FLAG_* (TSYNC is dropped: the caller is one
 * thread).  No profile: 0 with out->len 0 and out->filter NULL.  Unknown
 * syscall names are skipped (as runc); an unknown action, operator,
 * architecture or flag is an error naming it; SCMP_ACT_NOTIFY is "not
 * supported".  Free with oci_seccomp_free.
 */
int oci_seccomp_compile(const struct oci_spec *s, struct sock_fprog *out, unsigned int *flags,
			struct zh_error *err);
int oci_seccomp_compile_json(const json_t *profile, struct sock_fprog *out, unsigned int *flags,
			     struct zh_error *err);
void oci_seccomp_free(struct sock_fprog *prog);

/* ---- resources -> vmadm ------------------------------------------------- */

/*
 * The vmadm payload properties (config/props.c names, types and minimums)
 * for r: max_physical_memory, max_swap, cpu_cap, cpu_shares, max_lwps,
 * zfs_io_priority; what is unset or unlimited is left out, so vmadm's
 * defaults apply (docs/architecture.md §24.2 has the table).  A new
 * object, or NULL and *err (-ENOMEM only).
 */
json_t *oci_resources_to_payload(const struct oci_resources *r, struct zh_error *err);

/* ---- runtime output ----------------------------------------------------- */

/* A container id runc accepts: 1..OCI_ID_MAX of [A-Za-z0-9_+.-], not "." or "..". */
bool oci_id_valid(const char *id);

struct oci_state {
	const char *id;
	const char *status; /* created | running | paused | stopped */
	pid_t pid;	    /* 0 when stopped */
	const char *bundle, *rootfs;
	struct timespec created;   /* printed UTC, RFC 3339, ns with trailing zeros cut */
	const char *owner;	   /* NULL: "" */
	const json_t *annotations; /* NULL or empty: omitted */
};

/* The state object, keys in runc's order (ociVersion ... created, annotations, owner). */
json_t *oci_state_json(const struct oci_state *st);
/* `state`: 2-space indent, no trailing newline.  NULL on ENOMEM. */
char *oci_state_format(const struct oci_state *st);
/* `list --format json`: one line, a JSON array (runc's "null" when n is 0) and "\n". */
char *oci_state_list_format(const struct oci_state *v, size_t n);

/* `features`: 4-space indent and "\n", as runc prints it.  NULL on ENOMEM. */
char *oci_features_json(void);

/*
 * One `--log-format json` record, "{"level":"error","msg":"...","time":"<RFC 3339>"}\n"
 * (logrus's key order); level is debug, info, warning or error.  NULL on ENOMEM.
 */
char *oci_log_json(const char *level, const char *msg, time_t when);

/* A signal as `kill` takes it: number, or name with or without SIG, any case.
 * -EINVAL and "unknown signal \"X\"" otherwise. */
int oci_signal_parse(const char *s, int *sig, struct zh_error *err);

#endif
