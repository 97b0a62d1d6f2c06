/*
 * test-qmp.c - the QMP client (qmp.h, docs/architecture.md §22): message
 * kinds, events skipped, errors, the size bound and the timeout, against
 * a fake QEMU on a socketpair.
 */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jsonutil.h"
#include "macro.h"
#include "qmp.h"
#include "tap.h"

static int kind(const char *s)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *m = NULL;
	int r = qmp_parse(s, strlen(s), &m, &err);

	json_decref(m);
	zh_error_clear(&err);
	return r;
}

static void test_parse(void)
{
	is_int(kind("{\"QMP\":{\"version\":{}}}"), QMP_GREETING, "greeting");
	is_int(kind("{\"return\":{}}"), QMP_RETURN, "return");
	is_int(kind("{\"error\":{\"class\":\"x\",\"desc\":\"d\"}}"), QMP_ERROR, "error");
	is_int(kind("{\"event\":\"STOP\",\"timestamp\":{}}"), QMP_EVENT, "event");
	is_int(kind("{\"error\":3}"), -EPROTO, "error that is not an object");
	is_int(kind("[1]"), -EPROTO, "not an object");
	is_int(kind("{\"x\":1}"), -EPROTO, "unknown kind");
	is_int(kind("{\"return\":1,\"return\":2}"), -EPROTO, "duplicate keys");
	is_int(kind("{\"ret"), -EPROTO, "truncated");
}

static int run(struct qmp *q, int peer, const char *script, int timeout, json_t **ret)
{
	struct zh_error err = ZH_ERROR_INIT;
	int r;

	if (script && write(peer, script, strlen(script)) < 0)
		return -999;
	r = qmp_execute(q, "query-status", NULL, timeout, ret, &err);
	zh_error_clear(&err);
	return r;
}

static void test_execute(void)
{
	int sv[2];
	static struct qmp q;
	json_t *ret = NULL;
	char line[256];
	static char big[QMP_MAX_LINE + 10];

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	q.fd = sv[0];
	q.used = 0;
	is_int(run(&q, sv[1],
		   "{\"event\":\"RESET\"}\r\n{\"event\":\"STOP\"}\n{\"return\":{\"status\":"
		   "\"running\"}}\r\n",
		   1000, &ret),
	       0, "events skipped, the return taken");
	is_str(jsonutil_str(ret, "status"), "running", "return value");
	json_decref(ret);
	ssize_t n = read(sv[1], line, sizeof(line) - 1);

	line[n > 0 ? n : 0] = '\0';
	is_str(line, "{\"execute\":\"query-status\"}\n", "the command sent as one line");
	is_int(run(&q, sv[1], "{\"error\":{\"desc\":\"no\"}}\n", 1000, NULL), -EIO, "QMP error");
	is_int(run(&q, sv[1], NULL, 100, NULL), -ETIMEDOUT, "no answer: timeout");
	memset(big, ' ', sizeof(big));
	if (write(sv[1], big, sizeof(big)) < 0)
		ok(0, "write");
	is_int(run(&q, sv[1], NULL, 1000, NULL), -EMSGSIZE, "a line over the bound");
	close(sv[1]);
	q.used = 0;
	is_int(run(&q, -1, NULL, 1000, NULL), -EPIPE, "QEMU went away");
	qmp_close(&q);
}

int main(void)
{
	test_parse();
	test_execute();
	return tap_done();
}
