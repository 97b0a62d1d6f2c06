/*
 * mdsrv.h - the metadata server of one VM (docs/architecture.md §23): the
 * process that reads guest bytes.  src/cmd/mdatad.c is its main:
 *
 *     mdatad <chan-fd>      exec'd by zoneadmd, already unprivileged
 *     return mdsrv_run(&(struct mdsrv_opts){.chan_fd = 3, ...});
 *
 * It owns no file and opens nothing: zoneadmd hands it fds over the
 * channel (mdsrv-chan.h), and it loads a seccomp allow-list before the
 * first one arrives.  It answers every connection with mdata-session
 * over mdata-keys on the latest VM view zoneadmd sent, and sends a
 * guest's PUT or DELETE back to zoneadmd, answering when zoneadmd says
 * it is done (the session is deferred meanwhile).
 *
 * Bounds: at most MDSRV_CONNS connections (the least recently active one
 * that waits for nothing makes room for a new one); per connection the
 * session's line bound, one reply and MDSRV_CHUNK bytes read ahead; no
 * more is read from a connection while its reply is unwritten, its PUT
 * unanswered, or the VM's token bucket (MDSRV_RATE_PER_S, bursts of
 * MDSRV_RATE_BURST requests) is empty: the request waits, and is
 * answered truly once a token comes.  Every fd is non-blocking.
 */
#ifndef ZH_MDSRV_H
#define ZH_MDSRV_H

#include <stdbool.h>
#include <stdint.h>

#define MDSRV_CONNS	 32
#define MDSRV_CHUNK	 4096
#define MDSRV_RATE_PER_S 200
#define MDSRV_RATE_BURST 400

struct mdsrv_opts {
	int chan_fd;
	uint32_t rate_per_s, rate_burst; /* 0: the defaults above */
	bool no_filter;			 /* tests only: no seccomp */
};

/* Serve until zoneadmd closes the channel; the exit code (the caller _exits). */
int mdsrv_run(const struct mdsrv_opts *o);

#endif
