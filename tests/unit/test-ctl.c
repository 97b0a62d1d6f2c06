/*
 * test-ctl.c - the zoneadmd control protocol codec, frames on a
 * SOCK_SEQPACKET pair, and signal names (ctl.h).
 */
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include "ctl.h"
#include "signame.h"
#include "jsonutil.h"
#include "tap.h"

static void frame(void **buf, size_t *len, uint16_t cmd, int32_t status, const char *json)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *j = json ? json_loads(json, 0, NULL) : NULL;

	if (ctl_encode(cmd, status, j, buf, len, &err) < 0)
		*buf = NULL;
	json_decref(j);
	zh_error_clear(&err);
}

static int decode(const void *buf, size_t len, struct ctl_msg *m)
{
	struct zh_error err = ZH_ERROR_INIT;
	int r = ctl_decode(buf, len, m, &err);

	zh_error_clear(&err);
	return r;
}

static void test_roundtrip(void)
{
	struct ctl_msg m;
	void *buf = NULL;
	size_t len = 0;

	frame(&buf, &len, CTL_STOP, 0, "{\"timeout\":60,\"force\":true}");
	ok(buf != NULL, "encode STOP");
	is_int(decode(buf, len, &m), 0, "decode STOP");
	is_int(m.cmd, CTL_STOP, "cmd survives");
	is_int(json_integer_value(json_object_get(m.payload, "timeout")), 60, "payload survives");
	ctl_msg_clear(&m);
	free(buf);

	frame(&buf, &len, CTL_STATUS, 0, NULL);
	is_int(len, sizeof(struct ctl_hdr), "empty payload: header only");
	is_int(decode(buf, len, &m), 0, "decode empty payload");
	ok(json_is_object(m.payload) && json_object_size(m.payload) == 0, "empty payload is {}");
	ctl_msg_clear(&m);
	free(buf);

	frame(&buf, &len, CTL_KILL, -ESRCH, "{\"error\":\"x\"}");
	is_int(decode(buf, len, &m), 0, "decode an error reply");
	is_int(m.status, -ESRCH, "status survives");
	ctl_msg_clear(&m);
	free(buf);
}

static void test_bad_frames(void)
{
	struct ctl_msg m;
	struct ctl_hdr h;
	char big[sizeof(h) + 8];
	void *buf = NULL;
	size_t len = 0;

	frame(&buf, &len, CTL_STOP, 0, "{\"a\":1}");
	for (size_t n = 0; n < len; n++)
		ok(decode(buf, n, &m) < 0, "truncated frame of %zu bytes refused", n);
	memcpy(big, buf, len);
	ok(decode(big, len + 1 <= sizeof(big) ? len + 1 : len, &m) < 0, "trailing byte refused");
	free(buf);
	ok(decode(NULL, 0, &m) < 0, "NULL refused");

	h = (struct ctl_hdr){.magic = CTL_MAGIC, .version = CTL_VERSION, .cmd = 1};
	memcpy(big, &h, sizeof(h));
	is_int(decode(big, sizeof(h), &m), 0, "bare header is fine");
	ctl_msg_clear(&m);
	h.magic = 0x12345678;
	memcpy(big, &h, sizeof(h));
	ok(decode(big, sizeof(h), &m) == -EBADMSG, "bad magic");
	h.magic = CTL_MAGIC;
	h.version = 2;
	memcpy(big, &h, sizeof(h));
	ok(decode(big, sizeof(h), &m) == -EPROTONOSUPPORT, "unknown version");
	h.version = CTL_VERSION;
	h.len = 0xffffffffu;
	memcpy(big, &h, sizeof(h));
	ok(decode(big, sizeof(h), &m) == -EMSGSIZE, "huge length claimed");
	h.len = 8;
	memcpy(big, &h, sizeof(h));
	memcpy(big + sizeof(h), "[1,2,3] ", 8);
	ok(decode(big, sizeof(h) + 8, &m) == -EBADMSG, "payload not an object");
	memcpy(big + sizeof(h), "{\"a\":1 ", 8);
	ok(decode(big, sizeof(h) + 8, &m) == -EBADMSG, "payload not JSON");
	h.len = 0;
	h.status = 5;
	memcpy(big, &h, sizeof(h));
	ok(decode(big, sizeof(h), &m) == -EBADMSG, "positive status refused");
}

static void test_socket(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct ctl_msg m;
	int sv[2];
	char *huge;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		ok(0, "socketpair: %m");
		return;
	}
	json_t *p = json_pack("{s:b}", "force", 1);

	ok(ctl_send(sv[0], CTL_REBOOT, 0, p, &err) == 0, "send");
	json_decref(p);
	ok(ctl_recv(sv[1], &m, &err) == 0 && m.cmd == CTL_REBOOT, "receive one frame");
	ctl_msg_clear(&m);
	huge = calloc(1, CTL_PAYLOAD_MAX + 64);
	if (huge && send(sv[0], huge, CTL_PAYLOAD_MAX + 64, 0) > 0)
		ok(ctl_recv(sv[1], &m, &err) == -EMSGSIZE, "oversized record refused");
	zh_error_clear(&err);
	free(huge);
	close(sv[0]);
	ok(ctl_recv(sv[1], &m, &err) == -ECONNRESET, "EOF is ECONNRESET");
	zh_error_clear(&err);
	close(sv[1]);
}

static void test_signals(void)
{
	static const struct {
		const char *s;
		int sig;
	} good[] = {
		{"SIGTERM", SIGTERM}, {"TERM", SIGTERM}, {"term", SIGTERM}, {"sigusr1", SIGUSR1},
		{"9", SIGKILL},	      {"USR2", SIGUSR2}, {"HUP", SIGHUP},   {"SIGINT", SIGINT},
	};
	static const char *const bad[] = {"",	 "0",	  "-1",	      "999", "SIGFOO",
					  "SIG", "USR1x", "RTMIN+99", "1x"};
	char name[32];
	int sig;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		ok(signame_parse(good[i].s, &sig) == 0 && sig == good[i].sig, "signal %s",
		   good[i].s);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ok(signame_parse(bad[i], &sig) < 0, "bad signal \"%s\"", bad[i]);
	ok(signame_parse("SIGRTMIN+4", &sig) == 0 && sig == SIGRTMIN + 4, "SIGRTMIN+4");
	ok(signame_parse("rtmin", &sig) == 0 && sig == SIGRTMIN, "rtmin");
	is_str(signame_format(SIGUSR2, name, sizeof(name)), "SIGUSR2", "name of SIGUSR2");
	is_str(signame_format(SIGRTMIN + 4, name, sizeof(name)), "SIGRTMIN+4", "name of RTMIN+4");
}

int main(void)
{
	test_roundtrip();
	test_bad_frames();
	test_socket();
	test_signals();
	return tap_done();
}
