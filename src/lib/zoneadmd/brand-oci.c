/*
 * brand-oci.c - OCI containers: a `docker: true` lx VM whose stored
 * `oci_bundle` names an OCI bundle (docs/architecture.md §24.3).  Its
 * root is the bundle's root.path (not the zonepath dataset, which keeps
 * the config and the logs), its process the config.json's, parsed by the
 * oci layer (oci_config_load) when the config is first read.
 *
 *     zoneadmd --notify-fd 3 --oci [--console-socket P] [--preserve-fds N] <uuid>
 *     z->ops = &brand_oci;   (brand_find: docker true and oci_bundle)
 *
 * What config.json gives maps onto struct zone_run (zone.h): args, env,
 * cwd, uid/gid/additionalGids, rlimits, the five capability sets (a set
 * left out is empty; every mask is intersected with the zone's kept set
 * in the child), noNewPrivileges, root.readonly, hostname, mounts (bind
 * and tmpfs; the destinations the zone makes itself are skipped),
 * maskedPaths, readonlyPaths, namespaces with a path (net, ipc, uts
 * joined; pid, user, mount and cgroup paths refused), and the seccomp
 * profile compiled to BPF (oci_seccomp_compile), loaded after the zone's
 * own filter.  A joined network namespace has no VNICs or nft (the VM has
 * no nics); the zone files (resolv.conf, hosts) are the caller's mounts.
 *
 * With --oci (the runtime's create):
 *  - terminal=false: zoneadmd's own 0, 1, 2 (set aside by zoneadmd_run)
 *    are the process's, untouched; terminal=true: a pty, its slave the
 *    process's 0, 1, 2 and controlling tty, its master sent over the
 *    console socket (one message: the pty name, one SCM_RIGHTS fd) and
 *    not kept, so the caller alone reads it;
 *  - fds 3..3+N-1 (--preserve-fds N) are the process's 3..;
 *  - CLONE_PARENT: the process is the runtime's child, so the caller's
 *    subreaper (containerd's shim, conmon) reaps it and has its status;
 *    zoneadmd sees its end on the pidfd only: exit.json says
 *    "exit_status": null, "reaped_by": "caller";
 *  - the start gate: zone_spawn returns with the process waiting at the
 *    gate; state.json says "created"; CTL_START writes the gate byte and
 *    answers once the exec happened (or with its error); state "running".
 * Without --oci (`vmadm start` of such a VM) the process starts at once,
 * stdin/stdout/stderr /dev/null (or the console pty), zoneadmd's child.
 */
#include <fcntl.h>
#include <linux/filter.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "brand-docker.h"
#include "brand-zone.h"
#include "brand.h"
#include "jsonutil.h"
#include "oci.h"
#include "zoneadmd.h"

/* ---- the config ---- */

static struct oci_spec *spec_of(struct zad *z)
{
	return z->dk.spec;
}

static int oci_prepare(struct zad *z, struct zh_error *err)
{
	const char *bundle = jsonutil_str(z->vm, "oci_bundle");
	struct oci_spec *s;

	if (docker_prepare(z, err) < 0)
		return -err->errnum;
	if (z->dk.spec) /* read once: a reload does not change the container */
		return 0;
	if (!bundle || bundle[0] != '/')
		return zh_error_set(err, EINVAL, "oci_bundle",
				    "oci_bundle must be an absolute path");
	if (!(s = oci_config_load(AT_FDCWD, bundle, err)))
		return -err->errnum;
	z->dk.spec = s;
	free(z->root);
	if (!(z->root = strdup(s->root_path)))
		return zh_error_oom(err);
	return 0;
}

static void drop_stdio(struct zad *z)
{
	for (int i = 0; i < 3; i++)
		closep(&z->dk.stdio[i]);
	for (size_t i = 0; i < z->dk.nkeep; i++)
		closep(&z->dk.keep[i]);
	z->dk.nkeep = 0;
	if (z->dk.oci)
		closep(&z->pty_slave);
}

/* ---- the console socket ---- */

/* One message: payload the pty's name, exactly one SCM_RIGHTS fd (the master). */
static int send_master(const char *path, int master, struct zh_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char name[64], cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov;
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof(sa.sun_path))
		return zh_error_set(err, ENAMETOOLONG, "console-socket",
				    "console socket path too long");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return zh_error_set(err, errno, "console-socket", "connect %s: %m", path);
	if (ptsname_r(master, name, sizeof(name)) != 0)
		snprintf(name, sizeof(name), "/dev/ptmx");
	iov = (struct iovec){.iov_base = name, .iov_len = strlen(name)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &master, sizeof(int));
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
		return zh_error_set(err, errno, "console-socket", "send to %s: %m", path);
	return 0;
}

static int oci_console(struct zad *z, struct zh_error *err)
{
	int r;

	if (!spec_of(z)->process->terminal)
		return 0;
	if (z->dk.oci && !z->dk.console_socket)
		return zh_error_set(err, EINVAL, "console-socket",
				    "process.terminal is true: --console-socket is needed");
	if ((r = zad_console_pty(z, z->id_base, err)) < 0 || !z->dk.oci)
		return r;
	/* The caller reads the master: we keep no copy that would take its bytes. */
	r = send_master(z->dk.console_socket, z->pty_master, err);
	zad_unwatch(z, z->pty_master);
	closep(&z->pty_master);
	/*
	 * The process's stdio is the pty: the caller's 0-2 go now, before init
	 * is cloned (it would hold them until its exec, and containerd's shim
	 * waits for EOF on them before it ever calls start).
	 */
	for (int i = 0; i < 3; i++)
		closep(&z->dk.stdio[i]);
	return r;
}

/* ---- the process ---- */

static unsigned long long attr_of(unsigned long f)
{
	return ((f & MS_RDONLY) ? MOUNT_ATTR_RDONLY : 0) |
	       ((f & MS_NOSUID) ? MOUNT_ATTR_NOSUID : 0) | ((f & MS_NODEV) ? MOUNT_ATTR_NODEV : 0) |
	       ((f & MS_NOEXEC) ? MOUNT_ATTR_NOEXEC : 0);
}

static int fill_mounts(const struct oci_spec *s, struct zone_mount *v, struct zh_error *err)
{
	if (s->n_mounts > ZONE_RUN_MOUNTS_MAX)
		return zh_error_set(err, E2BIG, "mounts", "mounts: more than %d entries",
				    ZONE_RUN_MOUNTS_MAX);
	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct oci_mount *m = &s->mounts[i];
		bool bind = (m->flags & MS_BIND) || (m->type && streq(m->type, "bind"));

		v[i] = (struct zone_mount){
			.dest = m->destination,
			.type = bind ? "bind" : m->type,
			.source = m->source,
			.attr = attr_of(m->flags),
			.data = m->data,
			.rec = (m->flags & MS_REC) != 0,
		};
	}
	return 0;
}

static int fill_joins(const struct oci_spec *s, struct zone_run *run, struct zh_error *err)
{
	for (size_t i = 0; i < s->lnx.n_namespaces; i++) {
		const struct oci_namespace *ns = &s->lnx.namespaces[i];
		int k = ns->type == OCI_NS_NETWORK ? ZONE_JOIN_NET
			: ns->type == OCI_NS_IPC   ? ZONE_JOIN_IPC
			: ns->type == OCI_NS_UTS   ? ZONE_JOIN_UTS
			: ns->type == OCI_NS_PID   ? ZONE_JOIN_PID
						   : -1;

		if (!ns->path)
			continue;
		if (k < 0)
			return zh_error_set(err, ENOTSUP, "linux.namespaces",
					    "linux.namespaces: joining a %s namespace is not "
					    "supported (a zone has its own)",
					    oci_ns_name(ns->type));
		run->join[k] = ns->path;
	}
	return 0;
}

static void fill_process(struct zad *z, const struct oci_process *p, struct zone_run *run)
{
	run->cwd = p->cwd;
	run->ids = true;
	run->uid = p->uid;
	run->gid = p->gid;
	run->gids = p->additional_gids;
	run->ngids = p->n_additional_gids;
	run->rlimits = (const struct zone_rlimit *)p->rlimits; /* the same layout */
	run->nrlimits = p->n_rlimits;
	run->caps = true; /* a set left out is empty */
	run->cap_bounding = p->caps[OCI_CAP_BOUNDING];
	run->cap_effective = p->caps[OCI_CAP_EFFECTIVE];
	run->cap_permitted = p->caps[OCI_CAP_PERMITTED];
	run->cap_inheritable = p->caps[OCI_CAP_INHERITABLE];
	run->cap_ambient = p->caps[OCI_CAP_AMBIENT];
	run->no_new_privs = p->no_new_privileges;
	run->gate_fd = -1;
	if (!p->terminal) { /* --oci: our inherited stdio; else /dev/null */
		run->stdio = true;
		for (int i = 0; i < 3; i++)
			run->stdio_fds[i] = z->dk.stdio[i];
	}
	run->keep_fds = z->dk.keep;
	run->nkeep_fds = z->dk.nkeep;
	run->clone_parent = z->dk.oci;
}

_Static_assert(sizeof(struct zone_rlimit) == sizeof(struct oci_rlimit), "rlimit layouts differ");

static void fill_spec(struct zad *z, const struct oci_spec *o, struct zone_run *run,
		      struct zone_spec *s)
{
	run->root_readonly = o->root_readonly;
	run->masked_paths = o->lnx.masked_paths;
	run->readonly_paths = o->lnx.readonly_paths;
	*s = (struct zone_spec){
		.argv = o->process->args,
		.envp = o->process->env,
		.hostname = o->hostname,
		.console_fd = o->process->terminal ? z->pty_slave : -1,
		.run = run,
	};
	/* A VM with nics (vmadm start of one) gets them; a joined netns never. */
	if (!run->join[ZONE_JOIN_NET] && json_array_size(json_object_get(z->vm, "nics"))) {
		s->before_release = zone_net_hook;
		s->hook_ctx = z;
	}
}

/* The start gate (--oci): the child keeps the read end, we the write end. */
static int open_gate(struct zad *z, struct zone_run *run, struct zh_error *err)
{
	int p[2];

	if (!z->dk.oci)
		return 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return zh_error_set(err, errno, NULL, "pipe: %m");
	run->gate_fd = p[0];
	z->dk.gate = p[1];
	return 0;
}

/* The process has its copies now: ours go (the caller's pipes must see EOF). */

static int spawn_oci(struct zad *z, struct zone_run *run, struct zone_mount *mounts,
		     struct zh_error *err)
{
	const struct oci_spec *o = spec_of(z);
	struct sock_fprog prog = {0};
	unsigned int flags = 0;
	struct zone_spec s;
	int r;

	fill_process(z, o->process, run);
	if (fill_mounts(o, mounts, err) < 0 || fill_joins(o, run, err) < 0 ||
	    oci_seccomp_compile(o, &prog, &flags, err) < 0)
		return -err->errnum;
	run->mounts = mounts;
	run->nmounts = o->n_mounts;
	run->seccomp = prog.len ? &prog : NULL;
	fill_spec(z, o, run, &s);
	r = open_gate(z, run, err);
	if (r == 0)
		r = docker_spawn(z, &s, err);
	closep(&run->gate_fd);
	oci_seccomp_free(&prog);
	return r;
}

static int oci_boot(struct zad *z, struct zh_error *err)
{
	struct zone_run run = {0};
	_cleanup_free_ struct zone_mount *mounts = calloc(ZONE_RUN_MOUNTS_MAX, sizeof(*mounts));
	int r;

	if (!mounts)
		return zh_error_oom(err);
	r = spawn_oci(z, &run, mounts, err);
	if (r < 0) {
		closep(&z->dk.gate);
		return r;
	}
	drop_stdio(z);
	z->dk.caller_reaps = z->dk.oci;
	z->dk.created = z->dk.gate >= 0;
	return 0;
}

/* CTL_START: open the gate; answer once the exec happened, or with its error. */
static int oci_start(struct zad *z, struct zh_error *err)
{
	if (z->dk.gate < 0 || !z->dk.created)
		return zh_error_set(err, EINVAL, NULL, "already started");
	if (write(z->dk.gate, "s", 1) != 1)
		return zh_error_set(err, errno, NULL, "cannot open the start gate: %m");
	closep(&z->dk.gate);
	z->dk.created = false;
	if (zone_spawn_await_exec(&z->zp, err) < 0)
		return -err->errnum; /* it _exit()ed: its pidfd ends the VM */
	zad_logf(z, "started: pid %d", (int)z->zp.pid);
	return zad_write_state(z, "running");
}

static void oci_free(struct zad *z)
{
	drop_stdio(z);
	closep(&z->dk.gate);
	closep(&z->zp.exec_fd);
	oci_spec_free(z->dk.spec);
	z->dk.spec = NULL;
}

static void oci_net_release(struct zad *z)
{
	if (json_array_size(json_object_get(z->vm, "nics")))
		zone_net_release(z);
}

const struct brand_ops brand_oci = {
	.name = "oci",
	.prepare = oci_prepare,
	.console = oci_console,
	.boot = oci_boot,
	.signal = docker_signal,
	.kill = docker_kill,
	.reap = docker_reap,
	.net_update = zone_net_update,
	.net_release = oci_net_release,
	.start = oci_start,
	.free = oci_free,
	.mdata = false, /* the bundle's root is the caller's: nothing of ours is put in it */
};
