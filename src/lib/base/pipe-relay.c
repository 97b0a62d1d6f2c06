/*
 * pipe-relay.c - pass stream bytes on through pipes, copied to user space
 * only once (for their checksum).
 *
 * Owns: two private pipes per relay ("hold" keeps the bytes, "dup" holds a
 * tee() of them to read).  Pipe pages are never written again once filled,
 * so a tee()'d or spliced page can be shared safely, unlike vmsplice()d user
 * memory.
 *
 * Sending (relay_send_*): the bytes come from a pipe already (btrfs send's),
 * so that pipe is the hold: tee() it, read the duplicate, write the chunk
 * header, then splice the same bytes on.
 *
 * Receiving (relay_recv_*): splice a chunk's bytes from the input into hold,
 * tee() them into dup and read that to verify; only a verified chunk is
 * spliced on to btrfs receive.  Whenever that cannot work (the input is not
 * spliceable, hold fills up before the chunk is complete, a short tee) the
 * chunk falls back to plain read() and write(): same bytes, one more copy.
 *
 *     struct relay rl;
 *     relay_open(&rl, 1 << 20);
 *     r = relay_recv_take(&rl, in, buf, len);   1: bytes wait in hold
 *     ... verify buf ...
 *     r = relay_recv_pass(&rl, out, keep, len); keep bytes on, the rest dropped
 *     relay_close(&rl);
 *
 * The receiving input may be a network pipe that stalls: every wait for it
 * goes through relay_pace_wait() (poll() with the time left in the low-speed
 * window), so a stalled sender ends the receive with -ETIMEDOUT instead of
 * holding it (and the VM lock) forever.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "macro.h"
#include "pipe-relay.h"

/* ---- the low-speed rule ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* At the window's end: too few bytes is the end, else a new window. */
static int pace_close_window(struct relay_pace *pc)
{
	if (pc->waited < (int64_t)pc->time * 1000)
		return 0;
	if (pc->got < pc->limit * pc->time)
		return -ETIMEDOUT;
	pc->waited = 0;
	pc->got = 0;
	return 0;
}

int relay_pace_wait(struct relay_pace *pc, int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int64_t t0, left;
	int n, r;

	if (!pc || !pc->limit || !pc->time)
		return poll(&p, 1, -1) < 0 && errno != EINTR ? -errno : 0;
	for (;;) {
		left = (int64_t)pc->time * 1000 - pc->waited;
		t0 = now_ms();
		n = poll(&p, 1, left > 0 ? (int)left : 0);
		pc->waited += now_ms() - t0;
		if (n < 0 && errno != EINTR)
			return -errno;
		if ((r = pace_close_window(pc)) < 0)
			return r;
		if (n > 0)
			return 0;
	}
}

void relay_pace_count(struct relay_pace *pc, size_t n)
{
	if (pc)
		pc->got += n;
}

ssize_t relay_read_full(struct relay_pace *pc, int fd, void *buf, size_t len)
{
	size_t got = 0;
	int r;

	while (got < len) {
		ssize_t n;

		if ((r = relay_pace_wait(pc, fd)) < 0)
			return r;
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
		relay_pace_count(pc, (size_t)n);
	}
	return (ssize_t)got;
}

/* ---- moving bytes ---- */

/*
 * Move exactly len bytes from pipe (or to pipe) in to out; -EPIPE at a
 * short end.  -EINVAL (out or in takes no splice) comes only before the
 * first byte moved, so the caller may fall back to a copy.
 */
static int splice_all(int in, int out, size_t len)
{
	bool first = true;

	while (len > 0) {
		ssize_t n = splice(in, NULL, out, NULL, len, SPLICE_F_MOVE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EINVAL && !first ? -EIO : -errno;
		if (n == 0)
			return -EPIPE;
		len -= (size_t)n;
		first = false;
	}
	return 0;
}

/* A pipe of size bytes, or half that (above pipe-max-size needs CAP_SYS_RESOURCE). */
static int new_pipe(int fds[2], int size)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	if (fcntl(fds[1], F_SETPIPE_SZ, size) < 0)
		(void)fcntl(fds[1], F_SETPIPE_SZ, size / 2);
	return 0;
}

int relay_open(struct relay *rl, int size)
{
	int r;

	*rl = (struct relay){.hold = {-EBADF, -EBADF}, .dup = {-EBADF, -EBADF}, .devnull = -EBADF};
	if ((r = new_pipe(rl->hold, size)) < 0 || (r = new_pipe(rl->dup, size)) < 0) {
		relay_close(rl);
		return r;
	}
	rl->size = (size_t)fcntl(rl->hold[1], F_GETPIPE_SZ);
	return 0;
}

void relay_close(struct relay *rl)
{
	closep(&rl->hold[0]);
	closep(&rl->hold[1]);
	closep(&rl->dup[0]);
	closep(&rl->dup[1]);
	closep(&rl->devnull);
}

/* ---- send ---- */

ssize_t relay_send_take(struct relay *rl, int src, char *buf, size_t max)
{
	ssize_t t, n;

	do
		t = tee(src, rl->dup[1], max, 0);
	while (t < 0 && errno == EINTR);
	if (t <= 0)
		return t < 0 ? -errno : 0;
	n = fsutil_read_full(rl->dup[0], buf, (size_t)t);
	if (n != t)
		return n < 0 ? n : -EIO;
	return t;
}

int relay_send_pass(struct relay *rl, int src, int out, const char *buf, size_t len)
{
	int r = rl->copy ? -EINVAL : splice_all(src, out, len);

	if (r != -EINVAL)
		return r;
	if (!rl->copy) { /* out takes no splice (a terminal, an O_APPEND file) */
		rl->copy = true;
		if ((rl->devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
			return -errno;
	}
	if ((r = fsutil_write_all(out, buf, len)) < 0)
		return r;
	return splice_all(src, rl->devnull, len);
}

/* ---- receive ---- */

/*
 * Splice len bytes of in into hold: 1 when all are there, 0 when hold
 * filled up first (moved bytes counted in *moved), -errno (-EPIPE at EOF).
 */
static int fill_hold(struct relay *rl, int in, size_t len, size_t *moved)
{
	bool waited = false;

	while (*moved < len) {
		ssize_t n = splice(in, NULL, rl->hold[1], NULL, len - *moved,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		int r;

		if (n > 0) {
			*moved += (size_t)n;
			relay_pace_count(rl->pace, (size_t)n);
			waited = false;
		} else if (n == 0) {
			return -EPIPE;
		} else if (errno == EAGAIN && waited) {
			return 0; /* in has bytes but hold takes no more */
		} else if (errno == EAGAIN) {
			if ((r = relay_pace_wait(rl->pace, in)) < 0)
				return r;
			waited = true;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	return 1;
}

/* The copy path for one chunk: what hold has, then the rest straight from in. */
static int take_by_copy(struct relay *rl, int in, char *buf, size_t len, size_t moved)
{
	ssize_t n = fsutil_read_full(rl->hold[0], buf, moved);

	if (n != (ssize_t)moved)
		return n < 0 ? (int)n : -EIO;
	n = relay_read_full(rl->pace, in, buf + moved, len - moved);
	if (n < 0)
		return (int)n;
	return (size_t)n < len - moved ? -EPIPE : 0;
}

int relay_recv_take(struct relay *rl, int in, char *buf, size_t len)
{
	size_t moved = 0;
	ssize_t t, n;
	int r = rl->copy || len > rl->size ? 0 : fill_hold(rl, in, len, &moved);

	if (r == -EINVAL && moved == 0) { /* in takes no splice: copy from now on */
		rl->copy = true;
		r = 0;
	}
	if (r <= 0)
		return r < 0 ? r : take_by_copy(rl, in, buf, len, moved);
	do
		t = tee(rl->hold[0], rl->dup[1], len, 0);
	while (t < 0 && errno == EINTR);
	if (t < 0)
		return -errno;
	if ((n = fsutil_read_full(rl->dup[0], buf, (size_t)t)) != t)
		return n < 0 ? (int)n : -EIO;
	if ((size_t)t < len) /* a short tee: drop the duplicate, copy hold */
		return take_by_copy(rl, in, buf, len, len);
	return 1;
}

int relay_recv_pass(struct relay *rl, int out, size_t keep, size_t len)
{
	char pad[512];
	int r = splice_all(rl->hold[0], out, keep);

	while (r == 0 && keep < len) {
		size_t k = len - keep < sizeof(pad) ? len - keep : sizeof(pad);
		ssize_t n = fsutil_read_full(rl->hold[0], pad, k);

		if (n != (ssize_t)k)
			r = n < 0 ? (int)n : -EIO;
		keep += k;
	}
	return r;
}
