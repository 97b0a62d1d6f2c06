/*
 * mdsrv.c - the metadata server's loop (mdsrv.h; docs/architecture.md
 * §23): the channel to zoneadmd, a listening socket, a serial line and
 * the connections, each pumped until it would block.
 *
 * Owns: the connection table (static: slot 0 is the serial line, the
 * others socket clients), the VM view, the token bucket, the seccomp
 * filter.  Not: what a line means (mdata-session), what a key holds
 * (mdata-keys), how the update is applied (zoneadmd runs `vmadm update`).
 *
 * A connection is "pumped": write what its session has to say; then, if
 * nothing is pending, no PUT is waiting and the bucket gives a token for
 * the next line, feed it the bytes read ahead (one line per feed); read
 * more only when those are used up.  Its epoll interest follows: OUT
 * while a reply is unwritten, IN while it may read, none while it waits
 * (a PUT's answer, the timer for a token, or its turn after MDSRV_STEPS
 * steps in a row).  So a guest that floods,
 * stalls mid-line, or never reads costs its own connection's buffers and
 * the bucket's delay, never a block of the loop.
 *
 *     mdsrv_run(&(struct mdsrv_opts){.chan_fd = 3});
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "jsonutil.h"
#include "macro.h"
#include "mdata-keys.h"
#include "mdata-rate.h"
#include "mdata-session.h"
#include "mdsrv-chan.h"
#include "mdsrv.h"
#include "seccomp-allow.h"

enum { T_CHAN = 1, T_TIMER, T_LISTEN, T_CONN };

#define MDSRV_STEPS 64 /* steps of one connection per wake-up */

struct mdsrv;

struct conn {
	int fd; /* -1: a free slot */
	uint32_t gen, ev;
	struct mdsrv *srv;
	struct mdata_session *s;
	char in[MDSRV_CHUNK];
	size_t in_off, in_len; /* read ahead, not yet fed: in[in_off..in_len) */
	uint64_t wake_ms;      /* waiting for a token until then; 0 not */
	uint64_t last_ms;      /* last activity (the oldest idle one is evicted) */
	uint64_t put_id;       /* the deferred PUT/DELETE's id; 0 none */
	struct mdata_answer put_ok;
};

struct mdsrv {
	int chan, ep, timer, lfd, hold;
	json_t *vm;
	struct mdata_rate rate;
	uint64_t next_id;
	bool done;
	struct conn conns[MDSRV_CONNS + 1]; /* [0]: the serial line */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t tag(int t, uint32_t gen, size_t slot)
{
	return ((uint64_t)t << 56) | ((uint64_t)gen << 16) | slot;
}

/* ---- the keys ---- */

static void chan_send(struct mdsrv *m, json_t *msg)
{
	if (msg)
		mdsrv_chan_send(m->chan, msg, -1);
	json_decref(msg);
}

static int st_get(void *ctx, const char *key, struct mdata_answer *a)
{
	return mdata_keys_get(((struct conn *)ctx)->srv->vm, key, a);
}

static int st_keys(void *ctx, struct mdata_answer *a)
{
	return mdata_keys_list(((struct conn *)ctx)->srv->vm, a);
}

/*
 * An allowed change goes to zoneadmd as the key and value (zoneadmd asks
 * mdata-keys again: it trusts no update this process makes); the guest
 * is answered when it is done.  val NULL: a DELETE.
 */
static int defer(struct conn *c, json_t *update, const char *key, const char *val, size_t len,
		 struct mdata_answer *a)
{
	struct mdsrv *m = c->srv;
	json_t *msg = json_pack("{s:s,s:I,s:s}", "op", val ? "put" : "delete", "id",
				(json_int_t)(m->next_id + 1), "key", key);
	int r = -ENOMEM;

	json_decref(update);
	if (msg && (!val || json_object_set_new(msg, "value", json_stringn(val, len)) == 0))
		r = mdsrv_chan_send(m->chan, msg, -1);
	json_decref(msg);
	if (r < 0) {
		mdata_answer_clear(a);
		return r;
	}
	c->put_id = ++m->next_id;
	c->put_ok = *a;
	*a = (struct mdata_answer){0};
	return MDATA_DEFER;
}

static int st_put(void *ctx, const char *key, const char *val, size_t len, struct mdata_answer *a)
{
	struct conn *c = ctx;
	json_t *u = NULL;
	int r = mdata_keys_put(c->srv->vm, key, val, len, &u, a);

	return r < 0 || !u ? r : defer(c, u, key, val ? val : "", len, a);
}

static int st_del(void *ctx, const char *key, struct mdata_answer *a)
{
	struct conn *c = ctx;
	json_t *u = NULL;
	int r = mdata_keys_delete(c->srv->vm, key, &u, a);

	return r < 0 || !u ? r : defer(c, u, key, NULL, 0, a);
}

static const struct mdata_store_ops store = {st_get, st_keys, st_put, st_del};

/* ---- connections ---- */

/* Close a connection; the serial line's end is told to zoneadmd (an HVM's reconnects). */
static void conn_drop(struct conn *c, bool tell)
{
	struct mdsrv *m = c->srv;

	if (c->fd < 0)
		return;
	if (tell && c == &m->conns[0])
		chan_send(m, json_pack("{s:s}", "op", "serial-closed"));
	close(c->fd); /* leaves the epoll set with it */
	c->fd = -1;
	c->gen++;
	mdata_session_free(c->s);
	c->s = NULL;
	mdata_answer_clear(&c->put_ok);
	c->put_id = 0;
}

static void conn_close(struct conn *c)
{
	conn_drop(c, true);
}

static int conn_open(struct mdsrv *m, size_t slot, int fd)
{
	struct conn *c = &m->conns[slot];
	struct epoll_event ev = {.events = EPOLLIN};

	conn_drop(c, false);
	c->s = mdata_session_new(&store, c);
	c->fd = fd;
	c->in_off = c->in_len = 0;
	c->wake_ms = 0;
	c->last_ms = now_ms();
	c->ev = EPOLLIN;
	ev.data.u64 = tag(T_CONN, c->gen, slot);
	if (!c->s || epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		conn_close(c);
		return -ENOMEM;
	}
	return 0;
}

/* What the connection waits for: OUT, IN, or nothing (0). */
static uint32_t wanted(const struct conn *c)
{
	size_t olen;

	mdata_session_output(c->s, &olen);
	if (olen)
		return EPOLLOUT;
	if (mdata_session_deferred(c->s) || c->wake_ms)
		return 0;
	return EPOLLIN;
}

static void set_interest(struct conn *c, size_t slot)
{
	struct epoll_event ev = {.events = wanted(c), .data.u64 = tag(T_CONN, c->gen, slot)};

	if (c->fd >= 0 && ev.events != c->ev &&
	    epoll_ctl(c->srv->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->ev = ev.events;
}

/* Write what the session has; 1 when all of it is out, 0 when it would block, -1 failed. */
static int flush(struct conn *c)
{
	size_t len;
	const char *o = mdata_session_output(c->s, &len);

	while (len) {
		ssize_t n = write(c->fd, o, len);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		mdata_session_consume(c->s, (size_t)n);
		o = mdata_session_output(c->s, &len);
	}
	return 1;
}

/* Bytes to feed: 1 some, 0 none now (would block), -1 EOF or error. */
static int fill(struct conn *c)
{
	ssize_t n;

	if (c->in_off < c->in_len)
		return 1;
	n = read(c->fd, c->in, sizeof(c->in));
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	c->in_off = 0;
	c->in_len = (size_t)n;
	c->last_ms = now_ms();
	return 1;
}

static void arm_timer(struct mdsrv *m);

/* A line ends in this chunk: it needs a token; false when it must wait. */
static bool token(struct conn *c)
{
	uint64_t t = now_ms(), w;

	if (!memchr(c->in + c->in_off, '\n', c->in_len - c->in_off))
		return true;
	w = mdata_rate_take(&c->srv->rate, t);
	if (!w)
		return true;
	c->wake_ms = t + w;
	arm_timer(c->srv);
	return false;
}

/* One step: 1 go on, 0 wait for an event, -1 close. */
static int step(struct conn *c)
{
	int r = flush(c);
	ssize_t n;

	if (r <= 0)
		return r;
	if (mdata_session_deferred(c->s) || c->wake_ms)
		return 0;
	if ((r = fill(c)) <= 0)
		return r;
	if (!token(c))
		return 0;
	n = mdata_session_feed(c->s, c->in + c->in_off, c->in_len - c->in_off);
	if (n < 0)
		return -1;
	c->in_off += (size_t)n;
	return 1;
}

/*
 * Pump until the connection would block, or MDSRV_STEPS steps: then it
 * yields to the others for a millisecond (the timer brings it back), so
 * a guest streaming bytes without LFs cannot hold the loop.
 */
static void pump(struct conn *c, size_t slot)
{
	int r = 1, n = 0;

	if (c->fd < 0)
		return;
	while (n++ < MDSRV_STEPS && (r = step(c)) > 0)
		;
	if (r > 0) {
		c->wake_ms = now_ms() + 1;
		arm_timer(c->srv);
	}
	if (r < 0)
		conn_close(c);
	else
		set_interest(c, slot);
}

/* ---- the token timer ---- */

static void arm_timer(struct mdsrv *m)
{
	uint64_t next = 0, t = now_ms();
	struct itimerspec its = {{0, 0}, {0, 0}};

	for (size_t i = 0; i <= MDSRV_CONNS; i++)
		if (m->conns[i].fd >= 0 && m->conns[i].wake_ms &&
		    (!next || m->conns[i].wake_ms < next))
			next = m->conns[i].wake_ms;
	if (next) {
		uint64_t d = next > t ? next - t : 1;

		its.it_value.tv_sec = (time_t)(d / 1000);
		its.it_value.tv_nsec = (long)(d % 1000) * 1000000;
	}
	timerfd_settime(m->timer, 0, &its, NULL);
}

static void on_timer(struct mdsrv *m)
{
	uint64_t n, t = now_ms();

	if (read(m->timer, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	for (size_t i = 0; i <= MDSRV_CONNS; i++) {
		struct conn *c = &m->conns[i];

		if (c->fd >= 0 && c->wake_ms && c->wake_ms <= t) {
			c->wake_ms = 0;
			pump(c, i);
		}
	}
	arm_timer(m);
}

/* ---- the listener ---- */

/* A free socket slot, else the least recently active one that waits for no PUT. */
static size_t free_slot(struct mdsrv *m)
{
	size_t best = 0;

	for (size_t i = 1; i <= MDSRV_CONNS; i++) {
		struct conn *c = &m->conns[i];

		if (c->fd < 0)
			return i;
		if (!c->put_id && (!best || c->last_ms < m->conns[best].last_ms))
			best = i;
	}
	return best;
}

static void on_listen(struct mdsrv *m)
{
	for (int k = 0; k < 16; k++) {
		int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		size_t slot;

		if (fd < 0)
			return;
		if (!(slot = free_slot(m))) {
			close(fd);
			continue;
		}
		if (conn_open(m, slot, fd) < 0)
			continue;
		pump(&m->conns[slot], slot);
	}
}

/* ---- the channel ---- */

static void on_done(struct mdsrv *m, const json_t *msg)
{
	json_t *id = json_object_get(msg, "id");
	const char *why = jsonutil_str(msg, "error");

	for (size_t i = 0; i <= MDSRV_CONNS; i++) {
		struct conn *c = &m->conns[i];
		struct mdata_answer a = {MDATA_FAILURE, NULL, 0};

		if (c->fd < 0 || !c->put_id || !json_is_integer(id) ||
		    (uint64_t)json_integer_value(id) != c->put_id)
			continue;
		c->put_id = 0;
		if (json_is_true(json_object_get(msg, "ok"))) {
			a = c->put_ok;
			c->put_ok = (struct mdata_answer){0};
		} else if (mdata_answer_set(&a, MDATA_FAILURE, why ? why : "Internal error",
					    strlen(why ? why : "Internal error")) < 0) {
			conn_close(c);
			return;
		}
		if (mdata_session_complete(c->s, &a) < 0)
			conn_close(c);
		pump(c, i);
		return;
	}
}

static void replace_fd(int *slot, int fd)
{
	if (*slot >= 0)
		close(*slot);
	*slot = fd;
}

static void on_listen_fd(struct mdsrv *m, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag(T_LISTEN, 0, 0)};

	replace_fd(&m->lfd, fd);
	if (epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		replace_fd(&m->lfd, -1);
}

static void on_message(struct mdsrv *m, json_t *msg, int fd)
{
	const char *op = jsonutil_str(msg, "op");
	json_t *vm = json_object_get(msg, "vm");

	if (!op) {
	} else if (streq(op, "vm") && json_is_object(vm)) {
		json_decref(m->vm);
		m->vm = json_incref(vm);
	} else if (streq(op, "done")) {
		on_done(m, msg);
	} else if (streq(op, "listen") && fd >= 0) {
		on_listen_fd(m, TAKE_FD(fd));
	} else if (streq(op, "serial") && fd >= 0 && conn_open(m, 0, TAKE_FD(fd)) == 0) {
		pump(&m->conns[0], 0);
	} else if (streq(op, "hold") && fd >= 0) {
		replace_fd(&m->hold, TAKE_FD(fd));
	}
	if (fd >= 0)
		close(fd);
}

static void on_chan(struct mdsrv *m)
{
	for (;;) {
		json_t *msg = NULL;
		int fd = -1, r = mdsrv_chan_recv(m->chan, &msg, &fd);

		if (r == -EAGAIN)
			return;
		if (r == -ECONNRESET || (r < 0 && r != -EBADMSG)) {
			m->done = true;
			return;
		}
		if (r == 0)
			on_message(m, msg, fd);
		json_decref(msg);
	}
}

/* ---- set-up ---- */

/* Only what the loop calls; anything else kills the process (a hostile guest's way out). */
static int confine(void)
{
	struct sock_filter f[] = {
		SECCOMP_ALLOW_HEAD,
		SECCOMP_ALLOW(__NR_read),
		SECCOMP_ALLOW(__NR_write),
		SECCOMP_ALLOW(__NR_close),
		SECCOMP_ALLOW(__NR_accept4),
		SECCOMP_ALLOW(__NR_recvfrom),
		SECCOMP_ALLOW(__NR_recvmsg),
		SECCOMP_ALLOW(__NR_sendmsg),
		SECCOMP_ALLOW(__NR_epoll_ctl),
#ifdef __NR_epoll_wait
		SECCOMP_ALLOW(__NR_epoll_wait),
#endif
		SECCOMP_ALLOW(__NR_epoll_pwait),
		SECCOMP_ALLOW(__NR_timerfd_settime),
		SECCOMP_ALLOW(__NR_clock_gettime),
		SECCOMP_ALLOW(__NR_mmap),
		SECCOMP_ALLOW(__NR_munmap),
		SECCOMP_ALLOW(__NR_mremap),
		SECCOMP_ALLOW(__NR_madvise),
		SECCOMP_ALLOW(__NR_brk),
		SECCOMP_ALLOW(__NR_futex),
		SECCOMP_ALLOW(__NR_getrandom),
		SECCOMP_ALLOW(__NR_getpid),
		SECCOMP_ALLOW(__NR_gettid),
		SECCOMP_ALLOW(__NR_sched_yield),
		SECCOMP_ALLOW(__NR_rt_sigprocmask),
		SECCOMP_ALLOW(__NR_sigaltstack), /* a sanitizer's, on the way out */
		SECCOMP_ALLOW(__NR_exit),
		SECCOMP_ALLOW(__NR_exit_group),
		SECCOMP_ALLOW(__NR_rt_sigreturn),
		SECCOMP_ALLOW(__NR_restart_syscall),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = {.len = (unsigned short)ARRAY_SIZE(f), .filter = f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return -errno;
	return 0;
}

static int setup(struct mdsrv *m, const struct mdsrv_opts *o)
{
	struct epoll_event ev = {.events = EPOLLIN};

	m->chan = o->chan_fd;
	m->lfd = m->hold = -1;
	for (size_t i = 0; i <= MDSRV_CONNS; i++)
		m->conns[i] = (struct conn){.fd = -1, .srv = m};
	mdata_rate_init(&m->rate, o->rate_per_s ? o->rate_per_s : MDSRV_RATE_PER_S,
			o->rate_burst ? o->rate_burst : MDSRV_RATE_BURST, now_ms());
	m->vm = json_object();
	m->ep = epoll_create1(EPOLL_CLOEXEC);
	m->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!m->vm || m->ep < 0 || m->timer < 0)
		return -1;
	ev.data.u64 = tag(T_CHAN, 0, 0);
	if (epoll_ctl(m->ep, EPOLL_CTL_ADD, m->chan, &ev) < 0)
		return -1;
	ev.data.u64 = tag(T_TIMER, 0, 0);
	if (epoll_ctl(m->ep, EPOLL_CTL_ADD, m->timer, &ev) < 0)
		return -1;
	return o->no_filter ? 0 : confine();
}

static void dispatch(struct mdsrv *m, const struct epoll_event *e)
{
	int t = (int)(e->data.u64 >> 56);
	uint32_t gen = (uint32_t)(e->data.u64 >> 16) & 0xffffffffu;
	size_t slot = (size_t)(e->data.u64 & 0xffff);

	if (t == T_CHAN)
		on_chan(m);
	else if (t == T_TIMER)
		on_timer(m);
	else if (t == T_LISTEN)
		on_listen(m);
	else if (t == T_CONN && slot <= MDSRV_CONNS && m->conns[slot].gen == gen &&
		 (e->events & (EPOLLHUP | EPOLLERR)))
		conn_close(&m->conns[slot]); /* gone: nothing it asked can reach it */
	else if (t == T_CONN && slot <= MDSRV_CONNS && m->conns[slot].gen == gen)
		pump(&m->conns[slot], slot);
}

int mdsrv_run(const struct mdsrv_opts *o)
{
	static struct mdsrv m; /* the connections' buffers: static, not on the stack */
	struct epoll_event ev[16];

	if (setup(&m, o) < 0)
		return 1;
	chan_send(&m, json_pack("{s:s}", "op", "ready"));
	while (!m.done) {
		int n = epoll_wait(m.ep, ev, ARRAY_SIZE(ev), -1);

		if (n < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < n && !m.done; i++)
			dispatch(&m, &ev[i]);
	}
	return 0;
}
