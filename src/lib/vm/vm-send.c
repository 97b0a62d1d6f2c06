/*
 * vm-send.c - `vmadm send` / `vmadm receive`: a VM as one stream.
 *
 * Owns: the order of chunks in the stream and the receive transaction (the
 * chunk codec is bundle.c).  The stream is a sequence of chunks, each a
 * 512-byte header then its payload zero-padded to a multiple of 512.
 *
 * Chunks: "JSON" ({"vm": stored config, "from": snapshot or null}); then per
 * dataset (snapshot) sent, chunks named after the subvolume ("<uuid>@vmsnap-x"
 * or "<uuid>@sending") carrying up to 1 MiB each of its `btrfs send` stream,
 * closed by an empty chunk of the same name; then an empty "END" chunk.  A
 * full send carries every snapshot of the VM, oldest first, each incremental
 * on the one before, then a fresh read-only "<uuid>@sending"; `-s FROM` the
 * snapshots newer than FROM and "<uuid>@sending", starting from FROM.
 *
 * Payload bytes go through pipes by splice and tee (pipe-relay.c): copied
 * to user space once per side, for the checksum.
 *
 * Receive verifies each chunk before piping it into `btrfs receive`, into
 * the pool's receive inbox "<pool>/.recv-<uuid>" (pool-recv.c; the base
 * snapshot of an incremental stream is parked in it).  Only after "END"
 * are the snapshots moved into the pool, the received "@sending" moved to
 * be the dataset (made writable, its received uuid cleared), the pool
 * synced, the config saved and the quota applied.  Any failure before that
 * destroys the inbox and all in it: nothing is left behind.  Callers must
 * ignore SIGPIPE (a dead `btrfs receive`).
 *
 * The stream is hostile input (another host, or anyone who can hand the
 * operator a file).  Its config is checked by the receive rules, and any
 * property that reaches outside the VM (host paths, host devices,
 * hypervisor command lines, anti-spoofing exemptions) is refused unless
 * the operator allows it (allow_host).  Its data is written by `btrfs
 * receive`, which resolves every path in the stream itself, following
 * symlinks the stream made; so it runs confined to the inbox: in a mount
 * namespace of its own where the inbox is a nosuid,nodev,noexec bind of
 * itself, chrooted there (-C) with the inbox as its root subvolume (-m:
 * parents and clone sources outside it are unreachable), with no new
 * privileges and only the capabilities a receive needs.  After each
 * dataset the inbox must hold exactly the subvolumes received so far
 * (a stream whose paths left its dataset is refused), and a received
 * dataset's top (root/, config/, logs/) must be plain directories.  The
 * input is read under a low-speed rule (relay_pace: by default fewer than
 * 1 KiB/s over 30 s of waiting ends the receive), so a stalled sender
 * never holds the VM lock forever.
 */
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bundle.h"
#include "fsutil.h"
#include "crashpoint.h"
#include "jsonutil.h"
#include "lock.h"
#include "macro.h"
#include "paths.h"
#include "pipe-relay.h"
#include "pool.h"
#include "runstate.h"
#include "util.h"
#include "vm-view.h"
#include "vm.h"
#include "vmcfg-access.h"
#include "vmcfg.h"
#include "vmstore.h"

#define DATA_CHUNK (1u << 20)
#define ERR_TAIL   512 /* bytes of btrfs's stderr kept for the message */

/* ---- raw I/O ---- */

/*
 * Let a pipe hold a whole chunk, so the process on the other side works on
 * one chunk while we checksum the next (a 64 KiB pipe makes the two take
 * turns).  Best effort: not a pipe, or above pipe-max-size, stays as is.
 */
static void pipe_grow(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
		if (fcntl(fd, F_SETPIPE_SZ, (int)(2 * DATA_CHUNK)) < 0)
			(void)fcntl(fd, F_SETPIPE_SZ, (int)DATA_CHUNK);
}

/* ---- chunks ---- */

static int write_err(int r, struct zh_error *err)
{
	return zh_error_set(err, -r, NULL, "cannot write stream: %s", strerror(-r));
}

/* A chunk's header, for a payload of len bytes whose checksum is data's. */
static int chunk_write_hdr(int fd, const char *name, const void *data, size_t len,
			   struct zh_error *err)
{
	char hdr[BUNDLE_HDR_SIZE], sum[BUNDLE_SUM_HEX + 1];
	int r;

	bundle_sum(data, len, sum);
	if (bundle_hdr_format(hdr, name, len, sum) < 0)
		return zh_error_set(err, ENAMETOOLONG, NULL, "chunk name too long: %s", name);
	if ((r = fsutil_write_all(fd, hdr, sizeof(hdr))) < 0)
		return write_err(r, err);
	return 0;
}

static int chunk_write_pad(int fd, size_t len, struct zh_error *err)
{
	static const char zeros[BUNDLE_HDR_SIZE];
	int r = fsutil_write_all(fd, zeros, bundle_pad(len) - len);

	return r < 0 ? write_err(r, err) : 0;
}

static int chunk_write(int fd, const char *name, const void *data, size_t len, struct zh_error *err)
{
	int r = chunk_write_hdr(fd, name, data, len, err);

	if (r < 0)
		return r;
	if (len && (r = fsutil_write_all(fd, data, len)) < 0)
		return write_err(r, err);
	return chunk_write_pad(fd, len, err);
}

static int read_err(int r, const struct relay_pace *pc, struct zh_error *err)
{
	if (r == -EPIPE)
		return zh_error_set(err, EPIPE, NULL, "truncated stream: unexpected end of input");
	if (r == -ETIMEDOUT && pc)
		return zh_error_set(err, ETIMEDOUT, NULL,
				    "stream stalled: fewer than %llu bytes/s arrived over %u s "
				    "(--low-speed-limit, --low-speed-time)",
				    (unsigned long long)pc->limit, pc->time);
	return zh_error_set(err, -r, NULL, "cannot read stream: %s", strerror(-r));
}

static int chunk_read_hdr(int fd, struct relay_pace *pc, struct bundle_hdr *h, struct zh_error *err)
{
	char hdr[BUNDLE_HDR_SIZE];
	ssize_t n = relay_read_full(pc, fd, hdr, sizeof(hdr));

	if (n < 0)
		return read_err((int)n, pc, err);
	if (n < BUNDLE_HDR_SIZE)
		return zh_error_set(err, EPIPE, NULL, "truncated stream: unexpected end of input");
	if (bundle_hdr_parse(hdr, h) < 0)
		return zh_error_set(err, EINVAL, NULL, "corrupt stream: bad chunk header");
	return 0;
}

static int buf_reserve(char **buf, size_t *cap, size_t need, struct zh_error *err)
{
	char *b;

	if (need <= *cap)
		return 0;
	if (!(b = realloc(*buf, need)))
		return zh_error_oom(err);
	*buf = b;
	*cap = need;
	return 0;
}

/* The payload in buf (h->padded bytes, room for one more) against its checksum. */
static int chunk_verify(const struct bundle_hdr *h, char *buf, struct zh_error *err)
{
	buf[h->size] = '\0';
	if (!bundle_payload_ok(h, buf))
		return zh_error_set(err, EBADMSG, NULL,
				    "corrupt stream: checksum mismatch in chunk \"%s\"", h->name);
	return 0;
}

/* The padded payload into *buf (grown to *cap as needed), verified against its checksum. */
static int chunk_read_payload(int fd, struct relay_pace *pc, const struct bundle_hdr *h, char **buf,
			      size_t *cap, struct zh_error *err)
{
	ssize_t n;
	int r = buf_reserve(buf, cap, h->padded + 1, err);

	if (r < 0)
		return r;
	n = relay_read_full(pc, fd, *buf, h->padded);
	if (n < 0 || (uint64_t)n < h->padded)
		return read_err(n < 0 ? (int)n : -EPIPE, pc, err);
	return chunk_verify(h, *buf, err);
}

/* ---- btrfs send / receive children ---- */

static const char *btrfs_path(void)
{
	static const char *const cands[] = {"/usr/bin/btrfs", "/usr/sbin/btrfs", "/bin/btrfs",
					    "/sbin/btrfs"};

	for (size_t i = 0; i < ARRAY_SIZE(cands); i++)
		if (access(cands[i], X_OK) == 0)
			return cands[i];
	return NULL;
}

/*
 * What `btrfs receive` keeps: file owners, modes and set-id bits, device
 * nodes (an OS image has /dev entries; nodev makes them inert), file
 * capabilities, chroot, and SYS_ADMIN for its tree searches and
 * BTRFS_IOC_SET_RECEIVED_SUBVOL.  Everything else is dropped.
 */
static bool cap_kept(int cap)
{
	static const int kept[] = {CAP_CHOWN,	CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
				   CAP_FOWNER,	CAP_FSETID,	  CAP_MKNOD,
				   CAP_SETFCAP, CAP_SYS_ADMIN,	  CAP_SYS_CHROOT};

	for (size_t i = 0; i < ARRAY_SIZE(kept); i++)
		if (kept[i] == cap)
			return true;
	return false;
}

/* Child side: drop the other capabilities (bounding, inheritable, ambient); no new privileges. */
static int drop_caps(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];

	for (int c = 0; c < 64; c++)
		if (!cap_kept(c) && c != CAP_SETPCAP && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 &&
		    errno != EINVAL)
			return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	d[0].inheritable = d[1].inheritable = 0;
	if (syscall(SYS_capset, &h, d) < 0 || prctl(PR_CAPBSET_DROP, CAP_SETPCAP, 0, 0, 0) < 0)
		return -errno;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
}

/*
 * Child side: a mount namespace of its own (nothing propagates back) in
 * which dir is a nosuid,nodev,noexec bind of itself, then drop_caps().
 */
static int confine(const char *dir)
{
	struct mount_attr a = {
		.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
		.propagation = MS_PRIVATE,
	};
	int t;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	t = open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
	if (t < 0 || mount_setattr(t, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0 ||
	    move_mount(t, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return -errno;
	close(t);
	return drop_caps();
}

struct child_io {
	int in, out, err; /* its stdin, stdout, stderr */
	int efd;	  /* write end of the error pipe */
	const char *jail; /* directory to confine it to, or NULL */
};

/* Child side: only async-signal-safe calls between fork and exec. */
static _Noreturn void btrfs_child(char *const argv[], const struct child_io *io)
{
	char *const envp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *)"LC_ALL=C",
			      NULL};
	int e[2] = {0, 0}; /* step (0 exec, 1 confine), errno */

	signal(SIGPIPE, SIG_DFL);
	if (io->jail && (e[1] = -confine(io->jail)) != 0)
		e[0] = 1;
	else if (dup2(io->in, 0) >= 0 && dup2(io->out, 1) >= 0 && dup2(io->err, 2) >= 0)
		execve(argv[0], argv, envp);
	if (!e[1])
		e[1] = errno;
	if (write(io->efd, e, sizeof(e)) < 0)
		_exit(126);
	_exit(127);
}

struct btrfs_run {
	const char *what; /* "btrfs send", "btrfs receive" */
	pid_t pid;
	int errfd; /* a memfd holding its stderr */
};

static int btrfs_spawn(char **argv, const char *jail, int in, int out, struct btrfs_run *b,
		       struct zh_error *err)
{
	_cleanup_close_ int nullfd = -EBADF, er = -EBADF, ew = -EBADF;
	int p[2], e[2] = {0, 0};
	struct child_io io;

	b->errfd = -EBADF;
	if (!(argv[0] = (char *)btrfs_path()))
		return zh_error_set(err, ENOENT, NULL, "btrfs not found (install btrfs-progs)");
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	b->errfd = memfd_create("btrfs-stderr", MFD_CLOEXEC);
	if (nullfd < 0 || b->errfd < 0 || pipe2(p, O_CLOEXEC) < 0)
		return zh_error_set(err, errno, NULL, "cannot run btrfs: %m");
	er = p[0];
	ew = p[1];
	io = (struct child_io){in < 0 ? nullfd : in, out < 0 ? nullfd : out, b->errfd, ew, jail};
	b->pid = fork();
	if (b->pid < 0)
		return zh_error_set(err, errno, NULL, "cannot fork: %m");
	if (b->pid == 0)
		btrfs_child(argv, &io);
	closep(&ew);
	if (fsutil_read_full(er, e, sizeof(e)) == sizeof(e)) {
		waitpid(b->pid, NULL, 0);
		return zh_error_set(err, e[1], NULL, "cannot %s %s: %s", e[0] ? "confine" : "run",
				    b->what, strerror(e[1]));
	}
	return 0;
}

/* The last line of the child's stderr, control characters made '?' (a stream names files). */
static void err_tail(int fd, char out[ERR_TAIL])
{
	struct stat st;
	off_t off;
	ssize_t n;
	char *nl;

	out[0] = '\0';
	if (fstat(fd, &st) < 0)
		return;
	off = st.st_size > ERR_TAIL - 1 ? st.st_size - (ERR_TAIL - 1) : 0;
	if ((n = pread(fd, out, ERR_TAIL - 1, off)) <= 0)
		return;
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	if ((nl = strrchr(out, '\n')))
		memmove(out, nl + 1, strlen(nl + 1) + 1);
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

static int btrfs_status(const struct btrfs_run *b, int status, struct zh_error *err)
{
	char msg[ERR_TAIL];

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	err_tail(b->errfd, msg);
	return zh_error_set(err, EIO, NULL, "%s failed%s%s", b->what, *msg ? ": " : "", msg);
}

static int btrfs_wait(struct btrfs_run *b, struct zh_error *err)
{
	int status;

	while (waitpid(b->pid, &status, 0) < 0)
		if (errno != EINTR)
			return zh_error_set(err, errno, NULL, "%s: %m", b->what);
	b->pid = 0;
	return btrfs_status(b, status, err);
}

/*
 * Our side failed (r < 0) while the child still had its input: if it had
 * already failed on its own (a stream it refused, so our write broke),
 * its reason replaces ours.
 */
static int btrfs_blame(struct btrfs_run *b, int r, struct zh_error *err)
{
	int status;

	if (r >= 0 || waitpid(b->pid, &status, WNOHANG) != b->pid)
		return r;
	b->pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return r;
	zh_error_clear(err);
	return btrfs_status(b, status, err);
}

/* The child's end: killed when our side failed (r < 0), else its exit status checked. */
static int btrfs_finish(struct btrfs_run *b, int r, struct zh_error *err)
{
	if (r < 0 && b->pid > 0) {
		kill(b->pid, SIGKILL);
		waitpid(b->pid, NULL, 0);
	} else if (r == 0 && b->pid > 0) {
		r = btrfs_wait(b, err);
	}
	closep(&b->errfd);
	return r;
}

/* ---- send ---- */

/* Stream the btrfs send pipe rfd as chunks named name (see pipe-relay.c). */
static int send_chunks(int rfd, int out, const char *name, struct zh_error *err)
{
	_cleanup_free_ char *buf = malloc(DATA_CHUNK);
	struct relay rl;
	ssize_t t;
	int r;

	if (!buf)
		return zh_error_oom(err);
	if ((r = relay_open(&rl, fcntl(rfd, F_GETPIPE_SZ))) < 0)
		return zh_error_set(err, -r, NULL, "cannot create pipe: %s", strerror(-r));
	while ((t = relay_send_take(&rl, rfd, buf, DATA_CHUNK)) > 0) {
		if ((r = chunk_write_hdr(out, name, buf, (size_t)t, err)) < 0)
			break;
		if ((r = relay_send_pass(&rl, rfd, out, buf, (size_t)t)) < 0) {
			r = write_err(r, err);
			break;
		}
		if ((r = chunk_write_pad(out, (size_t)t, err)) < 0)
			break;
	}
	relay_close(&rl);
	if (r == 0 && t < 0)
		r = zh_error_set(err, (int)-t, NULL, "cannot read btrfs send: %s",
				 strerror((int)-t));
	return r;
}

static int send_dataset(const struct pool *p, const char *ds, const char *parent, int out,
			struct zh_error *err)
{
	_cleanup_free_ char *path = pool_dataset_path(p, ds);
	_cleanup_free_ char *ppath = parent ? pool_dataset_path(p, parent) : NULL;
	_cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
	char *argv[] = {NULL, (char *)"send", (char *)"-q", (char *)"-p", ppath, path, NULL};
	struct btrfs_run b = {.what = "btrfs send"};
	int fds[2], r;

	if (!path || (parent && !ppath))
		return zh_error_oom(err);
	if (!parent) {
		argv[3] = path;
		argv[4] = NULL;
	}
	if (pipe2(fds, O_CLOEXEC) < 0)
		return zh_error_set(err, errno, NULL, "cannot create pipe: %m");
	rfd = fds[0];
	wfd = fds[1];
	pipe_grow(rfd);
	if ((r = btrfs_spawn(argv, NULL, -1, wfd, &b, err)) < 0) {
		closep(&b.errfd);
		return r;
	}
	closep(&wfd);
	r = send_chunks(rfd, out, ds, err);
	closep(&rfd);
	if ((r = btrfs_finish(&b, r, err)) < 0)
		return r;
	return chunk_write(out, ds, "", 0, err);
}

/* "<uuid>@vmsnap-<name>" for each snapshot to send, oldest first (after from). */
static int send_chain(const struct pool *p, const char *uuid, const char *from, char ***out,
		      struct zh_error *err)
{
	_cleanup_json_ json_t *snaps = NULL;
	size_t n, k = 0;
	int r = vm_snapshot_list(p, uuid, &snaps, err);

	if (r < 0)
		return r;
	n = json_array_size(snaps);
	if (!(*out = calloc(n + 2, sizeof(char *))))
		return zh_error_oom(err);
	for (size_t i = n; i-- > 0;) {
		const char *name = jsonutil_str(json_array_get(snaps, i), "name");

		if (from && streq(name, from)) {
			while (k > 0)
				free((*out)[--k]);
			continue;
		}
		if (!((*out)[k++] = paths_vmsnap(uuid, name)))
			return zh_error_oom(err);
	}
	if (!((*out)[k] = paths_send_snap(uuid)))
		return zh_error_oom(err);
	return 0;
}

static int send_json(int out, json_t *vm, const char *from, struct zh_error *err)
{
	_cleanup_free_ char *s = bundle_json_format(vm, from);

	if (!s)
		return zh_error_oom(err);
	return chunk_write(out, "JSON", s, strlen(s), err);
}

static int send_all(const struct pool *p, const char *uuid, const char *from, json_t *vm, int out,
		    struct zh_error *err)
{
	_cleanup_strv_ char **chain = NULL;
	_cleanup_free_ char *parent = NULL;
	int r = send_chain(p, uuid, from, &chain, err);

	if (r < 0 || (r = send_json(out, vm, from, err)) < 0)
		return r;
	if (from && !(parent = paths_vmsnap(uuid, from)))
		return zh_error_oom(err);
	for (size_t i = 0; chain[i]; i++) {
		if ((r = send_dataset(p, chain[i], i ? chain[i - 1] : parent, out, err)) < 0)
			return r;
	}
	return chunk_write(out, "END", "", 0, err);
}

static int make_sending(const struct pool *p, const char *uuid, struct zh_error *err)
{
	_cleanup_close_ int vl = lock_vm(uuid, err);
	_cleanup_free_ char *ds = NULL;
	int r;

	if (vl < 0)
		return vl;
	if (!(ds = paths_send_snap(uuid)))
		return zh_error_oom(err);
	if ((r = pool_subvol_destroy(p, ds, err)) < 0)
		return r;
	return pool_snapshot_create(p, uuid, PATHS_SEND_SNAP, err);
}

int vm_send(const char *uuid, const char *from, int out, struct zh_error *err)
{
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_json_ json_t *vm = NULL;
	_cleanup_free_ char *fromds = NULL, *sending = NULL;
	struct zh_error ignored = ZH_ERROR_INIT;
	int r = vmstore_find_stored(uuid, &p, &vm, err);

	if (r < 0)
		return r;
	if (from && (!vm_snapshot_name_valid(from) || !(fromds = paths_vmsnap(uuid, from)) ||
		     !pool_dataset_exists(p, fromds)))
		return zh_error_set(err, ENOENT, NULL,
				    "snapshot with name \"%s\" does not exist for VM %s", from,
				    uuid);
	if (!(sending = paths_send_snap(uuid)))
		return zh_error_oom(err);
	vmstore_strip_derived(vm); /* the stored config: the receiver derives its own */
	if ((r = make_sending(p, uuid, err)) < 0)
		return r;
	pipe_grow(out);
	r = send_all(p, uuid, from, vm, out, err);
	pool_subvol_destroy(p, sending, &ignored);
	zh_error_clear(&ignored);
	return r;
}

/* ---- receive ---- */

struct recv {
	struct pool *p;
	json_t *vm; /* the stream's config */
	char *from; /* incremental base snapshot, or NULL */
	char uuid[UTIL_UUID_LEN + 1];
	struct pool_recv in; /* the inbox, <mount>/.recv-<uuid> */
	char **got;	     /* received subvolume names, in order */
	size_t ngot;
	bool exists;
	bool ids_taken;		/* rc->vm's id range was handed out for it (recv_take_ids) */
	bool allow_host;	/* properties that reach outside the VM are fine */
	struct relay_pace pace; /* the input's low-speed rule */
};

static void recv_clear(struct recv *rc)
{
	pool_recv_close(&rc->in);
	pool_free(rc->p);
	json_decref(rc->vm);
	free(rc->from);
	for (size_t i = 0; i < rc->ngot; i++)
		free(rc->got[i]);
	free(rc->got);
}

static int recv_json(int in, struct recv *rc, struct zh_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t cap = 0;
	struct bundle_hdr h;
	int r = chunk_read_hdr(in, &rc->pace, &h, err);

	if (r < 0)
		return r;
	if (!streq(h.name, "JSON"))
		return zh_error_set(err, EINVAL, NULL, "corrupt stream: expected a JSON chunk");
	if ((r = chunk_read_payload(in, &rc->pace, &h, &buf, &cap, err)) < 0)
		return r;
	if ((r = bundle_json_parse(buf, h.size, &rc->vm, &rc->from, rc->uuid, err)) < 0)
		return r;
	vmstore_strip_derived(rc->vm); /* this host derives its own */
	vmcfg_drop_id_base(rc->vm);    /* and allocates its own ids */
	return 0;
}

/*
 * The stream's config is input from another host: checked by the property
 * table's receive rules, and its NICs against this host's other VMs (MAC,
 * IP on the same tag), before anything is received.
 */
static int recv_validate(struct recv *rc, struct zh_error *err)
{
	struct vmcfg_report rep = VMCFG_REPORT_INIT;
	_cleanup_json_ json_t *vm = json_deep_copy(rc->vm), *o = NULL;
	_cleanup_free_ char *s = NULL;
	int r;

	if (!vm)
		return zh_error_oom(err);
	vmcfg_drop_id_base(vm); /* ours, for a VM that exists here */
	r = vm_validate_received(vm, &rep);

	if (r == -EINVAL && (o = vmcfg_report_json(&rep)))
		s = json_dumps(o, JSON_COMPACT);
	vmcfg_report_clear(&rep);
	if (r == -ENOMEM)
		return zh_error_oom(err);
	if (r < 0)
		return zh_error_set(err, EINVAL, NULL, "invalid VM config in stream: %s",
				    s ? s : "out of memory");
	if (!rc->allow_host && (r = vm_check_received_host(vm, err)) < 0)
		return r;
	return vm_check_received_nics(vm, err);
}

/*
 * A full stream's uid/gid range, taken under the host lock before the VM
 * lock (lock order: host, then VM; docs/architecture.md §15), so a receive
 * never waits for the host lock holding a VM lock.  A uuid that turns out
 * to exist gives it back (recv_give_ids), and so does a receive that fails.
 */
static int recv_take_ids(struct recv *rc, struct zh_error *err)
{
	_cleanup_close_ int hl = -EBADF;
	int r;

	if (rc->from) /* an incremental lands on its VM, which has its ids */
		return 0;
	if ((hl = lock_host(err)) < 0)
		return hl;
	if ((r = vm_id_base_alloc(rc->vm, err)) < 0)
		return r;
	rc->ids_taken = true;
	return 0;
}

static void recv_give_ids(struct recv *rc)
{
	int64_t base;

	if (rc->ids_taken && vmcfg_id_base(rc->vm, &base) && base > 0)
		vmstore_index_id_free((uint64_t)base);
	vmcfg_drop_id_base(rc->vm);
	rc->ids_taken = false;
}

/* Whether the stream may land: a new uuid, or an incremental onto its stopped VM. */
static int recv_check_existing(struct recv *rc, struct zh_error *err)
{
	_cleanup_free_ char *base = NULL;
	struct zh_error e2 = ZH_ERROR_INIT;
	json_t *old = NULL;
	int r = vmstore_find_stored(rc->uuid, &rc->p, &old, &e2);
	int64_t ids;

	zh_error_clear(&e2);
	rc->exists = r == 0;
	if (rc->exists)
		recv_give_ids(rc);
	if (rc->exists && vmcfg_id_base(old, &ids)) /* the VM keeps its ids */
		vmcfg_set_id_base(rc->vm, ids);
	json_decref(old);
	if (rc->exists && !rc->from)
		return zh_error_set(err, EEXIST, NULL, "VM %s already exists", rc->uuid);
	if (!rc->exists && rc->from)
		return zh_error_set(err, ENOENT, NULL,
				    "VM %s does not exist: an incremental stream needs it",
				    rc->uuid);
	if (!rc->exists) {
		pool_free(TAKE_PTR(rc->p));
		return pool_open_default(&rc->p, err);
	}
	if (!(base = paths_vmsnap(rc->uuid, rc->from)))
		return zh_error_oom(err);
	if (!pool_dataset_exists(rc->p, base))
		return zh_error_set(err, ENOENT, NULL,
				    "snapshot with name \"%s\" does not exist for VM %s", rc->from,
				    rc->uuid);
	if (runstate_is_live(rc->uuid))
		return zh_error_set(err, EBUSY, NULL, "VM %s must be stopped to receive into it",
				    rc->uuid);
	return 0;
}

/* The <name> of "vmsnap-<name>", or NULL. */
static const char *vmsnap_name(const char *rest)
{
	return paths_has_prefix(rest, PATHS_VMSNAP_PREFIX) ? rest + strlen(PATHS_VMSNAP_PREFIX)
							   : NULL;
}

/* A received subvolume name: "<uuid>@sending" or "<uuid>@vmsnap-<valid>", new here. */
static int recv_name_ok(const struct recv *rc, const char *name, struct zh_error *err)
{
	size_t ul = strlen(rc->uuid);
	const char *snap = NULL;
	bool last = false;

	if (strncmp(name, rc->uuid, ul) == 0 && name[ul] == '@') {
		last = streq(name + ul + 1, PATHS_SEND_SNAP);
		snap = last ? NULL : vmsnap_name(name + ul + 1);
	}
	if (!last && (!snap || !vm_snapshot_name_valid(snap)))
		return zh_error_set(err, EINVAL, NULL, "corrupt stream: unexpected chunk \"%s\"",
				    name);
	for (size_t i = 0; i < rc->ngot; i++)
		if (streq(rc->got[i], name))
			return zh_error_set(err, EINVAL, NULL, "corrupt stream: chunk \"%s\" twice",
					    name);
	if (!last && (pool_dataset_exists(rc->p, name) || (rc->from && streq(snap, rc->from))))
		return zh_error_set(err, EEXIST, NULL, "snapshot with name \"%s\" already exists.",
				    snap);
	return 0;
}

/* One data chunk: taken from in, verified, only then passed on to wfd. */
static int recv_chunk(int in, int wfd, const struct bundle_hdr *h, struct relay *rl, char **buf,
		      size_t *cap, struct zh_error *err)
{
	int kept, r = buf_reserve(buf, cap, h->padded + 1, err);

	if (r < 0)
		return r;
	if ((kept = relay_recv_take(rl, in, *buf, h->padded)) < 0)
		return read_err(kept, rl->pace, err);
	if ((r = chunk_verify(h, *buf, err)) < 0)
		return r;
	if (kept)
		r = relay_recv_pass(rl, wfd, h->size, h->padded);
	else
		r = fsutil_write_all(wfd, *buf, h->size);
	if (r < 0)
		return zh_error_set(err, -r, NULL, "btrfs receive: %s", strerror(-r));
	return 0;
}

/* Verify and pipe chunks named like h into wfd, up to the closing empty chunk. */
static int recv_pipe(int in, struct relay_pace *pc, int wfd, struct bundle_hdr *h,
		     struct zh_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t cap = 0;
	char name[BUNDLE_HDR_SIZE];
	struct relay rl;
	int r = relay_open(&rl, 2 * DATA_CHUNK);

	if (r < 0)
		return zh_error_set(err, -r, NULL, "cannot create pipe: %s", strerror(-r));
	rl.pace = pc;
	snprintf(name, sizeof(name), "%s", h->name);
	while (r == 0 && h->size > 0) {
		if ((r = recv_chunk(in, wfd, h, &rl, &buf, &cap, err)) < 0 ||
		    (r = chunk_read_hdr(in, pc, h, err)) < 0)
			break;
		if (!streq(h->name, name))
			r = zh_error_set(err, EINVAL, NULL,
					 "corrupt stream: unexpected chunk \"%s\"", h->name);
	}
	relay_close(&rl);
	return r;
}

/*
 * The top of received subvolume name: root/ (required), config/ and logs/
 * plain directories, never links (zonehost opens them by path: a stream's
 * "root -> /" would make the host's root the zone's).
 */
static int recv_check_layout(const struct recv *rc, const char *name, struct zh_error *err)
{
	static const char *const dirs[] = {PATHS_DS_ROOT, PATHS_DS_CONFIG, PATHS_DS_LOGS};
	_cleanup_close_ int fd =
		openat(rc->in.fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return zh_error_set(err, errno, NULL, "corrupt stream: \"%s\": %m", name);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		int e = fstatat(fd, dirs[i], &st, AT_SYMLINK_NOFOLLOW) < 0 ? errno : 0;

		if (e == ENOENT && i > 0)
			continue;
		if (e || !S_ISDIR(st.st_mode))
			return zh_error_set(err, EINVAL, NULL,
					    "refused stream: \"%s\" of \"%s\" is not a directory",
					    dirs[i], name);
	}
	return 0;
}

static int recv_dataset(int in, struct recv *rc, struct bundle_hdr *h, struct zh_error *err)
{
	_cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
	char *argv[] = {NULL,	      (char *)"receive", (char *)"-q", (char *)"-C",
			(char *)"-m", rc->in.path,	 rc->in.path,  NULL};
	struct btrfs_run b = {.what = "btrfs receive"};
	int fds[2], r = recv_name_ok(rc, h->name, err);

	if (r < 0)
		return r;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return zh_error_set(err, errno, NULL, "cannot create pipe: %m");
	rfd = fds[0];
	wfd = fds[1];
	pipe_grow(wfd);
	if ((r = btrfs_spawn(argv, rc->in.path, rfd, -1, &b, err)) < 0) {
		closep(&b.errfd);
		return r;
	}
	closep(&rfd);
	r = btrfs_blame(&b, recv_pipe(in, &rc->pace, wfd, h, err), err);
	closep(&wfd);
	if ((r = btrfs_finish(&b, r, err)) < 0)
		return r;
	if (!(rc->got[rc->ngot] = strdup(h->name)))
		return zh_error_oom(err);
	rc->ngot++;
	if ((r = pool_recv_check(&rc->in, rc->got, rc->ngot, err)) < 0)
		return r;
	return recv_check_layout(rc, h->name, err);
}

static int recv_grow(struct recv *rc, struct zh_error *err)
{
	char **v = realloc(rc->got, (rc->ngot + 1) * sizeof(char *));

	if (!v)
		return zh_error_oom(err);
	rc->got = v;
	return 0;
}

/* Every dataset up to "END"; the last must be "<uuid>@sending". */
static int recv_datasets(int in, struct recv *rc, struct zh_error *err)
{
	struct bundle_hdr h;
	int r;

	for (;;) {
		if ((r = chunk_read_hdr(in, &rc->pace, &h, err)) < 0)
			return r;
		if (streq(h.name, "END") && h.size == 0)
			break;
		if ((r = recv_grow(rc, err)) < 0 || (r = recv_dataset(in, rc, &h, err)) < 0)
			return r;
	}
	if (rc->ngot == 0 || !strstr(rc->got[rc->ngot - 1], "@" PATHS_SEND_SNAP))
		return zh_error_set(err, EINVAL, NULL, "corrupt stream: no dataset");
	return 0;
}

/* ---- install ---- */

/* Move a received subvolume from the inbox into the pool as to. */
static int move_in(struct recv *rc, const char *from, const char *to, bool ro, struct zh_error *err)
{
	return pool_recv_take(&rc->in, from, to, ro, err);
}

static int recv_config(struct recv *rc, struct zh_error *err)
{
	json_int_t q = vmcfg_quota(rc->vm);
	int r;

	if (json_object_set_new(rc->vm, "zpool", json_string(rc->p->name)) < 0)
		return zh_error_oom(err);
	if (q > 0 && q <= (json_int_t)(UINT64_MAX >> 31) &&
	    (r = pool_quota_set(rc->p, rc->uuid, (uint64_t)q << 30, err)) < 0)
		return r;
	return vmstore_save(rc->p, rc->vm, err);
}

/*
 * How far recv_install got, for the undo: snapshots moved in, the received
 * dataset placed (as the new VM's, or beside the old one), swapped in.
 */
struct recv_done {
	size_t moved;
	bool placed;
	bool swapped;
	char *next; /* "<uuid>", or "<uuid>-recv" beside an existing VM */
};

static void recv_undo(struct recv *rc, const struct recv_done *d)
{
	struct zh_error ignored = ZH_ERROR_INIT;

	for (size_t i = 0; i < d->moved; i++)
		pool_subvol_destroy(rc->p, rc->got[i], &ignored);
	if (d->swapped)
		pool_dataset_exchange(rc->p, rc->uuid, d->next, &ignored);
	if (d->placed)
		pool_subvol_destroy(rc->p, d->next, &ignored);
	zh_error_clear(&ignored);
}

/*
 * The received "@sending" becomes the VM's dataset itself: renamed and made
 * writable, no snapshot (a snapshot would commit, flushing all the data just
 * received, before the command returns).  An existing VM's old dataset is
 * swapped out and dropped into the trash.
 */
static int recv_place(struct recv *rc, struct recv_done *d, struct zh_error *err)
{
	struct zh_error ignored = ZH_ERROR_INIT;
	int r;

	if (asprintf(&d->next, rc->exists ? "%s" PATHS_RECV_SUFFIX : "%s", rc->uuid) < 0)
		return zh_error_oom(err);
	if (rc->exists)
		pool_subvol_destroy(rc->p, d->next, &ignored); /* a crash's leftover */
	zh_error_clear(&ignored);
	if ((r = move_in(rc, rc->got[rc->ngot - 1], d->next, false, err)) < 0)
		return r;
	d->placed = true;
	if ((r = pool_dataset_adopt(rc->p, d->next, err)) < 0 || !rc->exists)
		return r;
	if ((r = pool_dataset_exchange(rc->p, rc->uuid, d->next, err)) < 0)
		return r;
	d->swapped = true;
	return 0;
}

static int recv_install(struct recv *rc, struct zh_error *err)
{
	struct recv_done d = {0};
	int r = 0;

	crashpoint("receive.received");
	for (; d.moved + 1 < rc->ngot && r == 0; d.moved++)
		r = move_in(rc, rc->got[d.moved], rc->got[d.moved], true, err);
	if (r == 0)
		r = recv_place(rc, &d, err);
	if (r == 0) /* the data on disk before the config that makes it a VM */
		r = pool_sync(rc->p, err);
	crashpoint("receive.placed");
	if (r == 0)
		r = recv_config(rc, err);
	crashpoint("receive.saved");
	if (r < 0)
		recv_undo(rc, &d);
	else if (d.swapped)
		pool_drop(rc->p, d.next);
	free(d.next);
	return r;
}

static int recv_run(int in, struct recv *rc, struct zh_error *err)
{
	_cleanup_free_ char *base = NULL;
	int r = pool_recv_open(rc->p, rc->uuid, &rc->in, err);

	if (r == 0 && rc->from) {
		if (!(base = paths_vmsnap(rc->uuid, rc->from)))
			return zh_error_oom(err);
		r = pool_recv_park(&rc->in, base, err);
	}
	if (r == 0)
		r = recv_datasets(in, rc, err);
	if (r == 0)
		r = recv_install(rc, err);
	pool_recv_close(&rc->in); /* the base back in place before the lock goes */
	return r;
}

static void drop_lock_file(const char *uuid)
{
	_cleanup_free_ char *path = paths_lock(uuid);

	if (path)
		unlink(path);
}

int vm_receive(int in, const struct vm_receive_opts *o, char uuid_out[UTIL_UUID_LEN + 1],
	       struct zh_error *err)
{
	struct recv rc = {.in = POOL_RECV_INIT, .allow_host = o->allow_host};
	_cleanup_close_ int vl = -EBADF;
	int r;

	rc.pace = (struct relay_pace){.limit = o->speed_limit, .time = o->speed_time};
	pipe_grow(in);
	r = recv_json(in, &rc, err);

	if (r == 0)
		r = recv_take_ids(&rc, err);
	if (r == 0 && (vl = lock_vm(rc.uuid, err)) < 0)
		r = vl;
	if (r == 0)
		r = recv_check_existing(&rc, err);
	if (r == 0 && json_object_set_new(rc.vm, "zpool", json_string(rc.p->name)) < 0)
		r = zh_error_oom(err);
	if (r == 0)
		r = recv_validate(&rc, err);
	if (r == 0 && !rc.exists) { /* what a killed receive of this uuid left */
		vm_recover_new(rc.p, rc.uuid);
		r = vmstore_mark_new(rc.p, rc.uuid, err);
	}
	if (r == 0)
		r = recv_run(in, &rc, err);
	if (rc.p && !rc.exists)
		vmstore_unmark_new(rc.p, rc.uuid);
	if (r == 0)
		snprintf(uuid_out, UTIL_UUID_LEN + 1, "%s", rc.uuid);
	else if (vl >= 0 && !rc.exists)
		drop_lock_file(rc.uuid); /* no lock file for a VM that never came */
	if (r < 0 && !rc.exists)	 /* no config holds the range: it goes back */
		recv_give_ids(&rc);
	recv_clear(&rc);
	return r;
}
