/*
 * mdata-rate.h - a token bucket: the per-VM request rate of the metadata
 * server (docs/architecture.md §23).  Pure: the caller passes the time.
 *
 * Owns: the bucket's arithmetic only.  A request that finds no token is
 * not refused: the server holds that connection (reads nothing more from
 * it) for the time mdata_rate_take() names, then asks again, so a flood
 * is slowed and every request still gets its true answer.
 *
 *     struct mdata_rate r;
 *     mdata_rate_init(&r, 200, 400, now_ms);       200/s, bursts of 400
 *     uint64_t wait = mdata_rate_take(&r, now_ms); 0: go; else ms to wait
 */
#ifndef ZH_MDATA_RATE_H
#define ZH_MDATA_RATE_H

#include <stdint.h>

struct mdata_rate {
	uint64_t milli;	  /* tokens held, in thousandths */
	uint64_t last_ms; /* when milli was last topped up */
	uint32_t per_s;	  /* tokens added per second (>= 1) */
	uint32_t burst;	  /* the most tokens held (>= 1) */
};

/* A full bucket: per_s tokens a second, at most burst (0s count as 1). */
void mdata_rate_init(struct mdata_rate *r, uint32_t per_s, uint32_t burst, uint64_t now_ms);

/*
 * Take one token at now_ms: 0 when taken, else the milliseconds (>= 1)
 * until one is there (nothing taken).  A clock that goes back adds nothing.
 */
uint64_t mdata_rate_take(struct mdata_rate *r, uint64_t now_ms);

#endif
