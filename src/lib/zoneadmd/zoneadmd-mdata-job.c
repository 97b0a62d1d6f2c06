/*
 * zoneadmd-mdata-job.c - what the metadata server asks of zoneadmd
 * (docs/architecture.md §23): its messages, and a guest's PUT or DELETE
 * run as `vmadm update <uuid>` (the payload on stdin), one at a time.
 *
 *     zad_mdata_on_chan(z);       the channel is readable
 *     zad_mdata_on_job(z);        the running `vmadm update` ended
 *     zad_mdata_refresh(z);       the stored config changed (CTL_MDATA)
 *
 * The key and value are checked here again by mdata-keys over zoneadmd's
 * own copy of the config, so only what a guest may change is ever
 * written, whatever the server sends.  A job's answer goes to the server
 * that asked (a reboot starts a new one: an older job's end is not
 * answered).  Jobs start at most every JOB_GAP_MS (a guest's PUT flood
 * costs the host at most ten `vmadm update` a second, outside the VM's
 * cgroup), and a PUT that would take customer_metadata and
 * internal_metadata past JOB_MD_MAX is refused (the config lives on the
 * host, beside the dataset, outside the VM's quota).  At most JOB_QUEUE_MAX jobs wait; past that
 * the server is answered "Internal error" at once (it has at most one per connection, so only a
 * server that went bad gets there).
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>

#include "brand.h"
#include "jsonutil.h"
#include "mdata-keys.h"
#include "mdsrv-chan.h"
#include "privdrop.h"
#include "zoneadmd.h"

#define JOB_ERR_MAX   480
#define JOB_QUEUE_MAX 64
#define JOB_GAP_MS    100	 /* at most 10 guest updates a second */
#define JOB_MD_MAX    (4u << 20) /* a guest may grow customer_metadata to 4 MiB */

struct zad_mdata_job {
	uint64_t id, gen; /* the request, and the server that asked */
	json_t *update;
	struct zad_mdata_job *next;
};

static void answer(struct zad *z, uint64_t gen, uint64_t id, const char *error)
{
	_cleanup_json_ json_t *m =
		json_pack("{s:s,s:I,s:b}", "op", "done", "id", (json_int_t)id, "ok", !error);

	if (gen != z->mdata.gen || z->mdata.chan < 0 || !m)
		return;
	if (error)
		json_object_set_new(m, "error", json_string(error));
	mdsrv_chan_send(z->mdata.chan, m, -1);
}

static void jobs_free(struct zad *z)
{
	struct zad_mdata *m = &z->mdata;

	while (m->queue) {
		struct zad_mdata_job *j = m->queue;

		m->queue = j->next;
		json_decref(j->update);
		free(j);
	}
	if (m->job_pidfd >= 0)
		zad_unwatch(z, m->job_pidfd);
	closep(&m->job_pidfd); /* a running `vmadm update` finishes on its own */
	closep(&m->job_out);
	if (m->job_timer >= 0)
		zad_unwatch(z, m->job_timer);
	closep(&m->job_timer);
}

void zad_mdata_free(struct zad *z)
{
	struct zad_mdata *m = &z->mdata;

	zad_mdata_stop(z);
	if (m->timer >= 0)
		zad_unwatch(z, m->timer);
	closep(&m->timer);
	jobs_free(z);
	free(m->server_uuid);
	m->server_uuid = NULL;
}

void zad_mdata_refresh(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;

	if (z->mdata.chan < 0)
		return;
	if (z->load(z, &err) < 0)
		zad_logf(z, "metadata: cannot re-read the config: %s", err.msg);
	else
		zad_mdata_push(z);
	zh_error_clear(&err);
}

/* ---- running `vmadm update` ---- */

static int vmadm_path(char *buf, size_t len)
{
	int r = util_exe_sibling("vmadm", buf, len);

	return r < 0 ? r : access(buf, X_OK) == 0 ? 0 : -ENOENT;
}

/* The payload in a memfd, at offset 0: the child's stdin. */
static int payload_fd(const json_t *update)
{
	_cleanup_free_ char *text = json_dumps(update, JSON_COMPACT);
	int fd = (int)memfd_create("mdata-update", MFD_CLOEXEC);
	size_t len = text ? strlen(text) : 0;

	if (fd < 0 || !text || write(fd, text, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static _Noreturn void exec_update(const char *vmadm, const char *uuid, int in, int out)
{
	int keep[] = {0, 1, 2};

	privdrop_reset_signals();
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 ||
	    privdrop_close_except(keep, ARRAY_SIZE(keep)) < 0)
		_exit(127);
	execl(vmadm, "vmadm", "update", uuid, (char *)NULL);
	_exit(127);
}

static int start_job(struct zad *z, struct zad_mdata_job *j)
{
	_cleanup_close_ int in = payload_fd(j->update);
	int p[2];
	char vmadm[PATH_MAX];
	pid_t pid;

	if (in < 0 || vmadm_path(vmadm, sizeof(vmadm)) < 0 || pipe2(p, O_CLOEXEC) < 0)
		return -EIO;
	pid = fork();
	if (pid == 0)
		exec_update(vmadm, z->uuid, in, p[1]);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -EIO;
	}
	z->mdata.job_out = p[0];
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	z->mdata.job_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (z->mdata.job_pidfd < 0 || zad_watch(z, z->mdata.job_pidfd, ZT_MDATA_JOB, EPOLLIN) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		closep(&z->mdata.job_pidfd);
		closep(&z->mdata.job_out);
		return -EIO;
	}
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Not before JOB_GAP_MS after the last start: the timer calls run_next again. */
static bool too_soon(struct zad *z)
{
	struct zad_mdata *m = &z->mdata;
	uint64_t t = now_ms();
	struct itimerspec its = {{0, 0}, {0, 0}};

	if (t >= m->job_next_ms)
		return false;
	its.it_value.tv_nsec = (long)(m->job_next_ms - t) * 1000000;
	if (m->job_timer < 0) {
		m->job_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (m->job_timer < 0 ||
		    zad_watch(z, m->job_timer, ZT_MDATA_JOBTIMER, EPOLLIN) < 0) {
			closep(&m->job_timer);
			return false; /* no timer: no pacing rather than no update */
		}
	}
	return timerfd_settime(m->job_timer, 0, &its, NULL) == 0;
}

/* Start the next job when none runs; one that cannot start is answered at once. */
static void run_next(struct zad *z)
{
	struct zad_mdata *m = &z->mdata;

	while (m->job_pidfd < 0 && m->queue && !too_soon(z)) {
		struct zad_mdata_job *j = m->queue;

		m->job_next_ms = now_ms() + JOB_GAP_MS;
		if (start_job(z, j) == 0)
			return;
		answer(z, j->gen, j->id, "Internal error");
		m->queue = j->next;
		json_decref(j->update);
		free(j);
	}
}

/* The last line vmadm printed (its error), without "vmadm: " or the LF. */
static void last_line(int fd, char *buf, size_t len)
{
	ssize_t n = read(fd, buf, len - 1);
	char *p;

	buf[n > 0 ? n : 0] = '\0';
	while ((p = strrchr(buf, '\n')) && p[1] == '\0')
		*p = '\0';
	if ((p = strrchr(buf, '\n')))
		memmove(buf, p + 1, strlen(p + 1) + 1);
	if (strncmp(buf, "vmadm: ", 7) == 0)
		memmove(buf, buf + 7, strlen(buf + 7) + 1);
}

void zad_mdata_on_job_timer(struct zad *z)
{
	uint64_t n;

	if (read(z->mdata.job_timer, &n, sizeof(n)) > 0)
		run_next(z);
}

void zad_mdata_on_job(struct zad *z)
{
	struct zad_mdata *m = &z->mdata;
	struct zad_mdata_job *j = m->queue;
	siginfo_t si = {0};
	char msg[JOB_ERR_MAX] = "";
	bool ok;

	if (!j || waitid(P_PIDFD, (id_t)m->job_pidfd, &si, WEXITED | WNOHANG) < 0 || !si.si_pid)
		return;
	ok = si.si_code == CLD_EXITED && si.si_status == 0;
	if (!ok)
		last_line(m->job_out, msg, sizeof(msg));
	zad_unwatch(z, m->job_pidfd);
	closep(&m->job_pidfd);
	closep(&m->job_out);
	if (ok)
		zad_mdata_refresh(z); /* the guest's next GET sees its own change */
	else
		zad_logf(z, "metadata: guest update failed: %s", msg);
	answer(z, j->gen, j->id, ok ? NULL : msg[0] ? msg : "Internal error");
	m->queue = j->next;
	json_decref(j->update);
	free(j);
	run_next(z);
}

/* ---- the server's messages ---- */

static size_t queue_len(const struct zad *z)
{
	size_t n = 0;

	for (struct zad_mdata_job *j = z->mdata.queue; j; j = j->next)
		n++;
	return n;
}

static void enqueue(struct zad *z, uint64_t id, json_t *update)
{
	struct zad_mdata_job *j = calloc(1, sizeof(*j)), **t = &z->mdata.queue;

	if (!j || queue_len(z) >= JOB_QUEUE_MAX) {
		free(j);
		json_decref(update);
		answer(z, z->mdata.gen, id, "Internal error");
		return;
	}
	*j = (struct zad_mdata_job){.id = id, .gen = z->mdata.gen, .update = update};
	while (*t)
		t = &(*t)->next;
	*t = j;
	run_next(z);
}

/* Would this PUT take the stored metadata past JOB_MD_MAX (the config is the host's disk)? */
static bool too_big(struct zad *z, const char *key, size_t len)
{
	size_t have = 0;

	for (const char *k = "customer_metadata"; k; k = k[0] == 'c' ? "internal_metadata" : NULL) {
		_cleanup_free_ char *s = json_dumps(json_object_get(z->vm, k), JSON_COMPACT);

		have += s ? strlen(s) : 0;
	}
	return have + strlen(key) + len > JOB_MD_MAX;
}

/* A PUT or DELETE: checked again here, then queued; a refusal answered with its reason. */
static void on_change(struct zad *z, const json_t *msg, bool put)
{
	json_t *id = json_object_get(msg, "id"), *val = json_object_get(msg, "value");
	const char *key = jsonutil_str(msg, "key");
	struct mdata_answer a = {0};
	json_t *update = NULL;
	int r;

	if (!json_is_integer(id) || !key || !*key || (put && !json_is_string(val)))
		return;
	if (put && too_big(z, key, json_string_length(val))) {
		answer(z, z->mdata.gen, (uint64_t)json_integer_value(id),
		       "Metadata too large (4 MiB at most)");
		return;
	}
	r = put ? mdata_keys_put(z->vm, key, json_string_value(val), json_string_length(val),
				 &update, &a)
		: mdata_keys_delete(z->vm, key, &update, &a);
	if (r < 0 || !update) {
		_cleanup_free_ char *why = a.len ? strndup(a.data, a.len) : NULL;

		answer(z, z->mdata.gen, (uint64_t)json_integer_value(id),
		       why ? why : "Internal error");
	} else {
		enqueue(z, (uint64_t)json_integer_value(id), update);
	}
	mdata_answer_clear(&a);
}

static void on_message(struct zad *z, const json_t *msg)
{
	const char *op = jsonutil_str(msg, "op");

	if (!op)
		return;
	if (streq(op, "ready"))
		zad_logf(z, "metadata: server pid %d ready", (int)z->mdata.pid);
	else if (streq(op, "put") || streq(op, "delete"))
		on_change(z, msg, streq(op, "put"));
	else if (streq(op, "serial-closed") && z->ops->mdata_connect)
		zad_mdata_reattach(z);
}

void zad_mdata_on_chan(struct zad *z)
{
	for (int k = 0; k < 64 && z->mdata.chan >= 0; k++) {
		_cleanup_json_ json_t *msg = NULL;
		int fd = -1, r = mdsrv_chan_recv(z->mdata.chan, &msg, &fd);

		if (fd >= 0)
			close(fd); /* the server passes no fds */
		if (r == -EAGAIN)
			return;
		if (r == -EBADMSG)
			continue;
		if (r < 0) {
			zad_unwatch(z, z->mdata.chan);
			closep(&z->mdata.chan);
			return;
		}
		on_message(z, msg);
	}
}
