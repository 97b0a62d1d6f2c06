/*
 * pipe-relay.h - pass stream bytes on through pipes, copied to user space
 * only once (for their checksum).  See pipe-relay.c.
 */
#ifndef ZH_PIPE_RELAY_H
#define ZH_PIPE_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * A low-speed rule on an input (curl's LOW_SPEED_LIMIT/TIME): the input
 * fails with -ETIMEDOUT when, over `time` seconds spent waiting for it,
 * fewer than limit * time bytes arrived.  Only time spent waiting for the
 * input counts, so a slow consumer never trips it.  limit 0: no rule.
 */
struct relay_pace {
	uint64_t limit; /* bytes per second */
	unsigned time;	/* seconds */
	int64_t waited; /* ms waited in this window */
	uint64_t got;	/* bytes that came in this window */
};

/* Wait until fd is readable: 0, -ETIMEDOUT by the rule, or -errno. */
int relay_pace_wait(struct relay_pace *pc, int fd);

/* n bytes came in. */
void relay_pace_count(struct relay_pace *pc, size_t n);

/* fsutil_read_full() of an input under the rule (pc may be NULL). */
ssize_t relay_read_full(struct relay_pace *pc, int fd, void *buf, size_t len);

struct relay {
	int hold[2];
	int dup[2];
	int devnull;
	size_t size;		 /* hold's capacity in bytes */
	bool copy;		 /* splice does not work here: read() and write() */
	struct relay_pace *pace; /* the receiving input's rule, or NULL */
};

/* Two private pipes of size bytes each (best effort); -errno. */
int relay_open(struct relay *rl, int size);
void relay_close(struct relay *rl);

/*
 * Up to max bytes at the head of pipe src, duplicated into buf without
 * consuming them: the count (0 at EOF), or -errno.
 */
ssize_t relay_send_take(struct relay *rl, int src, char *buf, size_t max);

/* Move the len bytes just taken from src to out (buf is their copy); -errno. */
int relay_send_pass(struct relay *rl, int src, int out, const char *buf, size_t len);

/*
 * The next len bytes of in: copied into buf and, when 1 is returned, kept
 * in the relay's pipe for relay_recv_pass(); 0 when buf is the only copy
 * (pass buf on by write()); -errno, -EPIPE when in ends first.
 */
int relay_recv_take(struct relay *rl, int in, char *buf, size_t len);

/* Pass the first keep of the len bytes kept on to out, drop the rest; -errno. */
int relay_recv_pass(struct relay *rl, int out, size_t keep, size_t len);

#endif
