/*
 * fuzz-mdata.c - libFuzzer target for the metadata server's session
 * (docs/architecture.md §23): the bytes a guest can send, fed in chunks the
 * input chooses (and repeated, to pass the line bound), to a session whose store answers from a
 * fixed VM config through mdata-keys.  Seeds in tests/fuzz/corpus/fuzz-mdata/.  Checks that every
 * reply is whole LF-terminated lines and that a V2 reply verifies.  An
 * allowed PUT or DELETE is deferred and completed, as the server does.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jsonutil.h"
#include "mdata-keys.h"
#include "mdata-session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *vm;

static int st_get(void *ctx, const char *key, struct mdata_answer *a)
{
	return mdata_keys_get(vm, key, a);
}

static int st_keys(void *ctx, struct mdata_answer *a)
{
	return mdata_keys_list(vm, a);
}

/* As the server does: an allowed change is answered later (mdsrv.c). */
static int defer(int r, const json_t *update, struct mdata_answer *a)
{
	if (r < 0 || !update)
		return r;
	mdata_answer_clear(a);
	return MDATA_DEFER;
}

static int st_put(void *ctx, const char *key, const char *val, size_t len, struct mdata_answer *a)
{
	json_t *u = NULL;
	int r = mdata_keys_put(vm, key, val, len, &u, a);

	json_decref(u);
	return defer(r, u, a);
}

static int st_del(void *ctx, const char *key, struct mdata_answer *a)
{
	json_t *u = NULL;
	int r = mdata_keys_delete(vm, key, &u, a);

	json_decref(u);
	return defer(r, u, a);
}

static const struct mdata_store_ops ops = {st_get, st_keys, st_put, st_del};

static void load_vm(void)
{
	static const char js[] =
		"{\"uuid\":\"7a1c2d3e-0000-4000-8000-000000000001\",\"hostname\":\"h\","
		"\"tmpfs\":64,\"resolvers\":[\"192.0.2.53\"],"
		"\"nics\":[{\"mac\":\"02:00:00:0a:0b:0c\",\"ip\":\"192.0.2.5\"},{\"ip\":\"dhcp\"}],"
		"\"routes\":{\"10.0.0.0/8\":\"nics[0]\",\"10.1.0.0/16\":\"macs[2:0:0:a:b:c]\","
		"\"10.2.0.0/16\":\"nics[1]\",\"10.3.0.0/16\":\"192.0.2.1\"},"
		"\"tags\":{\"a\":\"b\"},\"customer_metadata\":{\"k\":\"v\",\"n\":1.5,\"o\":{}},"
		"\"internal_metadata\":{\"root_pw\":\"x\",\"ns:k\":\"y\"},"
		"\"internal_metadata_namespaces\":[\"ns\"]}";

	if (!vm && jsonutil_parse(js, sizeof(js) - 1, "vm", &vm, NULL) < 0)
		__builtin_trap();
}

/* Every reply is whole lines; each V2 reply line verifies. */
static void check_output(const char *o, size_t len)
{
	while (len) {
		const char *lf = memchr(o, '\n', len);
		struct mdata_v2_frame f;
		size_t n;

		if (!lf)
			__builtin_trap();
		n = (size_t)(lf - o);
		if (n > 3 && memcmp(o, "V2 ", 3) == 0 && mdata_v2_parse(o, n, &f) < 0)
			__builtin_trap();
		o += n + 1;
		len -= n + 1;
	}
}

/* zoneadmd's answer to a deferred change: OK and a failure in turn. */
static int complete(struct mdata_session *s)
{
	static unsigned n;
	struct mdata_answer a = {0};

	if (n++ % 2)
		mdata_answer_set(&a, MDATA_SUCCESS, "OK", 2);
	else
		mdata_answer_set(&a, MDATA_FAILURE, "Invalid value", 13);
	return mdata_session_complete(s, &a);
}

/* Feed data to s in chunks of step bytes, checking the replies. */
static void feed(struct mdata_session *s, const uint8_t *data, size_t size, size_t step)
{
	size_t off = 0, olen;
	const char *o;

	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		ssize_t r = mdata_session_feed(s, (const char *)data + off, n);

		if (r <= 0 || (size_t)r > n)
			__builtin_trap();
		off += (size_t)r;
		if (mdata_session_deferred(s) && complete(s) < 0)
			__builtin_trap();
		o = mdata_session_output(s, &olen);
		check_output(o, olen);
		mdata_session_consume(s, olen);
	}
}

/*
 * The first byte chooses how the rest is fed: its low 7 bits the chunk
 * size (0: all at once), its high bit 70 repetitions, so that lines reach
 * past MDATA_LINE_MAX from a small input.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mdata_session *s;
	size_t step, reps;

	if (size < 1)
		return 0;
	load_vm();
	s = mdata_session_new(&ops, NULL);
	if (!s)
		return 0;
	step = data[0] & 0x7f ? data[0] & 0x7f : size;
	reps = data[0] & 0x80 ? 70 : 1;
	for (size_t i = 0; i < reps; i++)
		feed(s, data + 1, size - 1, step);
	mdata_session_free(s);
	return 0;
}
