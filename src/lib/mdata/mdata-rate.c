/*
 * mdata-rate.c - the metadata server's token bucket (mdata-rate.h;
 * docs/architecture.md §23).  Integer arithmetic in thousandths of a
 * token, so a rate below one per millisecond still accrues exactly.
 */
#include "mdata-rate.h"

void mdata_rate_init(struct mdata_rate *r, uint32_t per_s, uint32_t burst, uint64_t now_ms)
{
	r->per_s = per_s ? per_s : 1;
	r->burst = burst ? burst : 1;
	r->milli = (uint64_t)r->burst * 1000;
	r->last_ms = now_ms;
}

/* Add what the time since last_ms earned, up to the burst. */
static void refill(struct mdata_rate *r, uint64_t now_ms)
{
	uint64_t cap = (uint64_t)r->burst * 1000, dt;

	if (now_ms <= r->last_ms)
		return;
	dt = now_ms - r->last_ms;
	r->last_ms = now_ms;
	if (dt >= cap / r->per_s + 1) { /* long enough to fill it: no overflow below */
		r->milli = cap;
		return;
	}
	r->milli += dt * r->per_s; /* ms * tokens/s = thousandths of a token */
	if (r->milli > cap)
		r->milli = cap;
}

uint64_t mdata_rate_take(struct mdata_rate *r, uint64_t now_ms)
{
	uint64_t missing;

	refill(r, now_ms);
	if (r->milli >= 1000) {
		r->milli -= 1000;
		return 0;
	}
	missing = 1000 - r->milli;
	return (missing + r->per_s - 1) / r->per_s;
}
