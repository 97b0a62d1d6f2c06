/*
 * test-mdata.c - the metadata protocol (docs/architecture.md §23): every
 * worked example of the reference's V2 frames byte for byte, strict
 * base64, the session (negotiation, V1 and V2 verbs, blank-line reset,
 * bad CRC, oversize lines, splits at every byte) against a fake store, and
 * the key answers over a VM config.
 */
#include <string.h>

#include "jsonutil.h"
#include "macro.h"
#include "mdata-keys.h"
#include "mdata-rate.h"
#include "mdata-session.h"
#include "mdata-wire.h"
#include "tap.h"

/* ---- wire ---- */

static void test_crc_b64(void)
{
	char out[64], *dec = NULL;
	size_t n;

	is_int(mdata_crc32("dc4fae17 SUCCESS W10=", 21), 0x265ae1d8,
	       "crc of the reference example");
	is_int(mdata_crc32("", 0), 0, "crc of nothing");
	mdata_b64_encode("sdc:uuid", 8, out);
	is_str(out, "c2RjOnV1aWQ=", "b64 encode");
	mdata_b64_encode("Zm9v YmFy", 9, out);
	is_str(out, "Wm05diBZbUZ5", "b64 of a PUT payload");
	mdata_b64_encode("a", 1, out);
	is_str(out, "YQ==", "b64 two pads");
	is_int(mdata_b64_decode("T0s=", 4, &dec, &n), 0, "b64 decode");
	ok(dec && n == 2 && memcmp(dec, "OK", 2) == 0, "decoded OK");
	free(dec);
	dec = NULL;
	is_int(mdata_b64_decode("", 0, &dec, &n), 0, "b64 decode of nothing");
	ok(n == 0, "empty");
	free(dec);
	is_int(mdata_b64_decode("T0s", 3, &dec, &n), -EINVAL, "length not a multiple of 4");
	is_int(mdata_b64_decode("T0-=", 4, &dec, &n), -EINVAL, "url-safe alphabet refused");
	is_int(mdata_b64_decode("T0 s", 4, &dec, &n), -EINVAL, "blank refused");
	is_int(mdata_b64_decode("T=s=", 4, &dec, &n), -EINVAL, "padding in the middle");
	is_int(mdata_b64_decode("T0t=", 4, &dec, &n), -EINVAL, "unused bits set");
	is_int(mdata_b64_decode("YQ==YQ==", 8, &dec, &n), -EINVAL, "padding before the end");
}

static const char *const examples[] = {
	"V2 21 265ae1d8 dc4fae17 SUCCESS W10=",
	"V2 25 8cf8e622 dc4fae17 GET c2RjOnV1aWQ=",
	"V2 17 11525eac dc4fae17 NOTFOUND",
	"V2 13 b1df2f94 0a1b2c3d KEYS",
	"V2 20 0b92a7e8 0a1b2c3d DELETE Zm9v",
	"V2 25 f0c2f837 0a1b2c3d PUT Wm05diBZbUZ5",
	"V2 21 0599de6f 0a1b2c3d SUCCESS T0s=",
	"V2 65 1c380fae 0a1b2c3d FAILURE Q2Fubm90IHVwZGF0ZSB0aGUgInNkYyIgTmFtZXNwYWNlLg==",
	"V2 13 516b7440 2542119e GET ",
	"V2 16 1161e2f4 6707f747 SUCCESS",
};

/* Format frame text's reqid/code/payload again and compare byte for byte. */
static void reformat(const char *text)
{
	struct mdata_v2_frame f;
	struct mdata_buf out = {0};
	char *p = NULL, code[16];
	size_t n = 0;

	if (!ok(mdata_v2_parse(text, strlen(text), &f) == 0, "parse %s", text))
		return;
	snprintf(code, sizeof(code), "%.*s", (int)f.cmd_len, f.cmd);
	if (mdata_b64_decode(f.payload, f.payload_len, &p, &n) < 0)
		n = 0;
	mdata_v2_format(&out, f.reqid, code, p, n);
	ok(out.len == strlen(text) + 1 && memcmp(out.data, text, out.len - 1) == 0 &&
		   out.data[out.len - 1] == '\n',
	   "format gives %s back", text);
	free(p);
	mdata_buf_free(&out);
}

static void test_v2_frames(void)
{
	struct mdata_v2_frame f;

	for (size_t i = 0; i < ARRAY_SIZE(examples); i++)
		if (strcmp(examples[i] + strlen(examples[i]) - 1, " ") != 0)
			reformat(examples[i]);
	ok(mdata_v2_parse(examples[8], strlen(examples[8]), &f) == 0 && f.payload_len == 0,
	   "GET with the trailing space counted parses, empty payload");
	is_int(mdata_v2_parse("V2 12 516b7440 2542119e GET", 27, &f), -EINVAL,
	       "trimmed GET no longer verifies");
	is_int(mdata_v2_parse("V2 25 8cf8e623 dc4fae17 GET c2RjOnV1aWQ=", 40, &f), -EINVAL,
	       "bad crc");
	is_int(mdata_v2_parse("V2 24 8cf8e622 dc4fae17 GET c2RjOnV1aWQ=", 40, &f), -EINVAL,
	       "bad clen");
	is_int(mdata_v2_parse("V2 25 8CF8E622 dc4fae17 GET c2RjOnV1aWQ=", 40, &f), -EINVAL,
	       "uppercase crc");
	is_int(mdata_v2_parse("V2 0 00000000 ", 14, &f), -EINVAL, "zero clen");
	is_int(mdata_v2_parse("V2 99999999999 8cf8e622 x", 25, &f), -EINVAL, "huge clen");
	is_int(mdata_v2_parse("V2", 2, &f), -EINVAL, "bare V2");
}

static void test_v1_format(void)
{
	struct mdata_buf out = {0};
	struct mdata_v1_request r;

	mdata_v1_format(&out, MDATA_SUCCESS, ".a\nb\n..c", 8);
	mdata_buf_append(&out, "", 1);
	is_str(out.data, "SUCCESS\n..a\nb\n...c\n.\n", "V1 success dot-stuffed");
	mdata_buf_free(&out);
	mdata_v1_format(&out, MDATA_SUCCESS, "", 0);
	mdata_buf_append(&out, "", 1);
	is_str(out.data, "SUCCESS\n\n.\n", "V1 empty success");
	mdata_buf_free(&out);
	ok(mdata_v1_parse("GET  foo \t", 10, &r) == 0 && r.cmd_len == 3 && r.arg_len == 4,
	   "V1 parse: one blank separates, trailing blanks go");
	is_int(mdata_v1_parse(" \t ", 3, &r), -EINVAL, "blank line");
	is_int(mdata_v1_parse(" GET x", 6, &r), -EINVAL, "leading blank");
}

/* ---- session, on a fake store ---- */

static int fake_get(void *ctx, const char *key, struct mdata_answer *a)
{
	if (strcmp(key, "sdc:uuid") == 0)
		return mdata_answer_set(a, MDATA_SUCCESS, "[]", 2);
	if (strcmp(key, "dots") == 0)
		return mdata_answer_set(a, MDATA_SUCCESS, ".x\n.", 4);
	if (strcmp(key, "empty") == 0)
		return mdata_answer_set(a, MDATA_SUCCESS, "", 0);
	if (strcmp(key, "boom") == 0)
		return -EIO;
	return mdata_answer_set(a, MDATA_NOTFOUND, NULL, 0);
}

static int fake_keys(void *ctx, struct mdata_answer *a)
{
	return mdata_answer_set(a, MDATA_SUCCESS, "a\nb", 3);
}

static char last_put[256];

static int fake_put(void *ctx, const char *key, const char *val, size_t len, struct mdata_answer *a)
{
	snprintf(last_put, sizeof(last_put), "%s=%.*s", key, (int)len, val);
	if (strcmp(key, "later") == 0)
		return MDATA_DEFER;
	if (strncmp(key, "sdc:", 4) == 0)
		return mdata_answer_set(a, MDATA_FAILURE, "Cannot update the \"sdc\" Namespace.",
					34);
	return mdata_answer_set(a, MDATA_SUCCESS, "OK", 2);
}

static int fake_del(void *ctx, const char *key, struct mdata_answer *a)
{
	snprintf(last_put, sizeof(last_put), "-%s", key);
	return mdata_answer_set(a, MDATA_SUCCESS, "OK", 2);
}

static const struct mdata_store_ops fake = {fake_get, fake_keys, fake_put, fake_del};

/* Feed in in chunks of step bytes (0: all at once); return the output (static). */
static const char *run_split(const char *in, size_t len, size_t step)
{
	static char buf[1 << 16];
	struct mdata_session *s = mdata_session_new(&fake, NULL);
	size_t off = 0, olen;
	const char *o;

	buf[0] = '\0';
	while (off < len) {
		size_t n = step && len - off > step ? step : len - off;
		ssize_t r = mdata_session_feed(s, in + off, n);

		if (r <= 0)
			break;
		off += (size_t)r;
	}
	o = mdata_session_output(s, &olen);
	snprintf(buf, sizeof(buf), "%.*s", (int)olen, o ? o : "");
	mdata_session_free(s);
	return buf;
}

static const char *run(const char *in)
{
	return run_split(in, strlen(in), 0);
}

static void test_session(void)
{
	is_str(run("\n"), "invalid command\n", "blank line");
	is_str(run("  \t\n"), "invalid command\n", "blank with spaces");
	is_str(run("NEGOTIATE V2\n"), "V2_OK\n", "negotiate");
	is_str(run("NEGOTIATE\n"), "invalid command\n", "negotiate without argument");
	is_str(run("NEGOTIATE V3\n"), "FAILURE\n", "negotiate V3");
	is_str(run("GET sdc:uuid\n"), "SUCCESS\n[]\n.\n", "V1 GET");
	is_str(run("GET dots\n"), "SUCCESS\n..x\n..\n.\n", "V1 GET dot-stuffed");
	is_str(run("GET nope\n"), "NOTFOUND\n", "V1 NOTFOUND");
	is_str(run("GET\n"), "invalid command\n", "V1 GET without key");
	is_str(run("KEYS\n"), "SUCCESS\na\nb\n.\n", "V1 KEYS");
	is_str(run("PUT a b\n"), "FAILURE\n", "V1 PUT unknown");
	is_str(run("GET boom\n"), "FAILURE\n", "store error, V1");
	is_str(run("V2 25 8cf8e622 dc4fae17 GET c2RjOnV1aWQ=\n"),
	       "V2 21 265ae1d8 dc4fae17 SUCCESS W10=\n", "V2 GET: the reference's example");
	is_str(run("V2 13 b1df2f94 0a1b2c3d KEYS\n"), "V2 21 f9cd618b 0a1b2c3d SUCCESS YQpi\n",
	       "V2 KEYS");
	is_str(run("V2 25 f0c2f837 0a1b2c3d PUT Wm05diBZbUZ5\n"),
	       "V2 21 0599de6f 0a1b2c3d SUCCESS T0s=\n", "V2 PUT foo=bar");
	is_str(last_put, "foo=bar", "PUT reached the store");
	is_str(run("V2 20 0b92a7e8 0a1b2c3d DELETE Zm9v\n"),
	       "V2 21 0599de6f 0a1b2c3d SUCCESS T0s=\n", "V2 DELETE foo");
	is_str(last_put, "-foo", "DELETE reached the store");
	is_str(run("V2 25 8cf8e623 dc4fae17 GET c2RjOnV1aWQ=\n"), "", "bad crc: no reply");
	is_str(run("V2 25 8cf8e622 dc4fae17 GET c2RjOnV1aWQ=\r\n"), "", "CR counts: no reply");
}

/* The V2 frame of body, with its LF. */
static const char *frame(const char *body)
{
	static char buf[300000];

	snprintf(buf, sizeof(buf), "V2 %zu %08x %s\n", strlen(body),
		 (unsigned)mdata_crc32(body, strlen(body)), body);
	return buf;
}

/* The decoded payload of a single V2 reply (static), or "(code)" when it has none. */
static const char *reply_payload(const char *out)
{
	static char buf[4096];
	struct mdata_v2_frame f;
	char *p = NULL;
	size_t n;

	if (mdata_v2_parse(out, strlen(out) - 1, &f) < 0)
		return "(unparsable)";
	if (f.payload_len == 0) {
		snprintf(buf, sizeof(buf), "(%.*s)", (int)f.cmd_len, f.cmd);
		return buf;
	}
	if (mdata_b64_decode(f.payload, f.payload_len, &p, &n) < 0)
		return "(bad b64)";
	snprintf(buf, sizeof(buf), "%.*s %s", (int)f.cmd_len, f.cmd, p);
	free(p);
	return buf;
}

static void test_session_v2_edges(void)
{
	is_str(run("V2 13 516b7440 2542119e GET \n"),
	       "V2 45 a9f3b959 2542119e FAILURE SW52YWxpZCBHRVQgUmVxdWVzdA==\n",
	       "mdata-get '': the trailing space counts; Invalid GET Request");
	is_str(reply_payload(run(frame("00000001 GET ZW1wdHk="))), "(SUCCESS)",
	       "empty SUCCESS has no payload and no space");
	/* mdata-put key '': b64("a2V5 ") */
	is_str(reply_payload(run(frame("00000001 PUT YTJWNSA="))), "FAILURE Invalid PUT Request",
	       "PUT of an empty value: Invalid PUT Request");
	is_str(reply_payload(run(frame("00000001 PUT YQ=="))), "FAILURE Invalid PUT Request",
	       "PUT with one term");
	is_str(reply_payload(run(frame("00000001 PUT !!!!"))), "FAILURE Invalid PUT Request",
	       "PUT with bad base64");
	is_str(reply_payload(run(frame("00000001 GET c2Rj=OnV"))), "FAILURE Invalid GET Request",
	       "GET with bad base64");
	is_str(reply_payload(run(frame("00000001 DELETE IA=="))), "FAILURE Invalid DELETE Request",
	       "DELETE of a blank key");
	is_str(reply_payload(run(frame("00000001 FROB"))), "FAILURE Unknown command FROB",
	       "unknown V2 command");
	is_str(reply_payload(run(frame("00000001 NEGOTIATE VjI="))),
	       "FAILURE Unknown command NEGOTIATE", "NEGOTIATE is V1 only");
	is_str(reply_payload(run(frame("00000001 GET Ym9vbQ=="))), "FAILURE Internal error",
	       "store error, V2");
	is_str(reply_payload(run(frame("00000001 PUT YzJSak9uZz0gZUE9PQ=="))),
	       "FAILURE Cannot update the \"sdc\" Namespace.", "store refusal is passed on");
}

static void test_splits(void)
{
	const char *in = "\nNEGOTIATE V2\nV2 25 8cf8e622 dc4fae17 GET c2RjOnV1aWQ=\n"
			 "V2 13 b1df2f94 0a1b2c3d KEYS\n";
	char want[512];
	bool all = true;

	snprintf(want, sizeof(want), "%s", run(in));
	ok(strcmp(want, "invalid command\nV2_OK\nV2 21 265ae1d8 dc4fae17 SUCCESS W10=\n"
			"V2 21 f9cd618b 0a1b2c3d SUCCESS YQpi\n") == 0,
	   "a whole client session");
	for (size_t step = 1; step < strlen(in); step++)
		all = all && strcmp(run_split(in, strlen(in), step), want) == 0;
	ok(all, "the same at every chunk size");
	for (size_t cut = 1; cut < strlen(in); cut++) {
		struct mdata_session *s = mdata_session_new(&fake, NULL);
		size_t off = 0, olen;
		const char *o;

		while (off < cut)
			off += (size_t)mdata_session_feed(s, in + off, cut - off);
		while (off < strlen(in))
			off += (size_t)mdata_session_feed(s, in + off, strlen(in) - off);
		o = mdata_session_output(s, &olen);
		all = all && olen == strlen(want) && memcmp(o, want, olen) == 0;
		mdata_session_free(s);
	}
	ok(all, "the same split at every byte");
	is_str(run("NEGOTIATE V2\nGET x\n\nKEYS\n"),
	       "V2_OK\nNOTFOUND\ninvalid command\nSUCCESS\na\nb\n.\n", "a blank line mid-session");
}

static void test_oversize(void)
{
	struct mdata_session *s = mdata_session_new(&fake, NULL);
	static char big[MDATA_LINE_MAX + 100];
	const char *head = "V2 300000 00000000 0badcafe PUT ";
	const char *o;
	size_t olen;
	ssize_t r;

	memset(big, 'A', sizeof(big));
	memcpy(big, head, strlen(head));
	for (size_t off = 0; off < sizeof(big); off += (size_t)r)
		r = mdata_session_feed(s, big + off,
				       sizeof(big) - off > 7000 ? 7000 : sizeof(big) - off);
	o = mdata_session_output(s, &olen);
	is_int(olen, 0, "no answer before the LF");
	mdata_session_feed(s, "\n", 1);
	mdata_session_feed(s, "NEGOTIATE V2\n", 13);
	o = mdata_session_output(s, &olen);
	ok(olen > 6 && memcmp(o + olen - 6, "V2_OK\n", 6) == 0, "the next line is answered");
	{
		char one[256];

		snprintf(one, sizeof(one), "%.*s", (int)(olen - 6), o);
		is_str(reply_payload(one), "FAILURE Request too long",
		       "oversize V2: FAILURE with its reqid");
		ok(strstr(one, " 0badcafe FAILURE ") != NULL, "reqid echoed");
	}
	mdata_session_free(s);
	s = mdata_session_new(&fake, NULL);
	memset(big, 'x', sizeof(big));
	mdata_session_feed(s, big, sizeof(big));
	mdata_session_feed(s, "\nKEYS\n", 6);
	o = mdata_session_output(s, &olen);
	ok(olen == 8 && memcmp(o, "FAILURE\n", 8) == 0, "oversize V1: FAILURE");
	mdata_session_free(s);
}

static void test_big_put(void)
{
	/* a 100,000-byte value: a 177,801-byte body fits the bound */
	static char val[100000], inner[200000], outer[300000], line[300100];
	char kb[16];
	size_t n;

	memset(val, 'v', sizeof(val));
	mdata_b64_encode("key", 3, kb);
	n = (size_t)snprintf(inner, sizeof(inner), "%s ", kb);
	mdata_b64_encode(val, sizeof(val), inner + n);
	mdata_b64_encode(inner, strlen(inner), outer);
	snprintf(line, sizeof(line), "00000001 PUT %s", outer);
	is_int(strlen(line), 177801, "the body of a 100,000-byte PUT");
	is_str(reply_payload(run(frame(line))), "SUCCESS OK", "it is accepted");
	ok(strlen(last_put) == 255 && strncmp(last_put, "key=vvv", 7) == 0,
	   "value reached the store");
}

/* ---- keys ---- */

static const char *vm_json =
	"{\"uuid\":\"7a1c2d3e-0000-4000-8000-000000000001\",\"hostname\":\"web0\","
	"\"alias\":\"w\",\"brand\":\"joyent\",\"dns_domain\":\"example.com\","
	"\"owner_uuid\":\"00000000-0000-0000-0000-000000000000\","
	"\"server_uuid\":\"5e7e5e7e-0000-4000-8000-000000000002\",\"datacenter_name\":\"dc1\","
	"\"image_uuid\":\"1b1b1b1b-0000-4000-8000-000000000003\",\"tmpfs\":256,"
	"\"resolvers\":[\"192.0.2.53\",\"192.0.2.54\"],"
	"\"nics\":[{\"interface\":\"net0\",\"mac\":\"02:00:00:0a:0b:0c\",\"ip\":\"192.0.2.5\"},"
	"{\"interface\":\"net1\",\"mac\":\"02:00:00:0a:0b:0d\",\"ip\":\"dhcp\"}],"
	"\"routes\":{\"10.0.0.0/8\":\"192.0.2.1\",\"172.16.0.0/12\":\"nics[0]\","
	"\"198.18.0.0/15\":\"macs[2:0:0:a:b:c]\",\"198.51.100.0/24\":\"nics[1]\"},"
	"\"tags\":{\"role\":\"db\",\"org.smartos:x\":\"y\"},"
	"\"customer_metadata\":{\"user-script\":\"#!/bin/sh\\n\",\"n\":5,\"t\":true,"
	"\"obj\":{\"a\":1},\"e\":\"\",\"root_pw\":\"hidden\",\"acme:k\":\"c\"},"
	"\"internal_metadata\":{\"root_pw\":\"s3cret\",\"operator-script\":\"op\","
	"\"sdc:volumes\":\"[]\",\"acme:k\":\"i\",\"other\":\"no\"},"
	"\"internal_metadata_namespaces\":[\"acme\"]}";

static const char *get(const json_t *vm, const char *key)
{
	static char buf[1024];
	struct mdata_answer a = {0};

	if (mdata_keys_get(vm, key, &a) < 0)
		return "(error)";
	snprintf(buf, sizeof(buf), "%s%s%.*s", mdata_code_name(a.code), a.len ? " " : "",
		 (int)a.len, a.data ? a.data : "");
	mdata_answer_clear(&a);
	return buf;
}

static void test_keys_get(json_t *vm)
{
	is_str(get(vm, "sdc:uuid"), "SUCCESS 7a1c2d3e-0000-4000-8000-000000000001", "sdc:uuid");
	is_str(get(vm, "sdc:hostname"), "SUCCESS web0", "sdc:hostname");
	is_str(get(vm, "sdc:alias"), "SUCCESS w", "sdc:alias");
	is_str(get(vm, "sdc:dns_domain"), "SUCCESS example.com", "sdc:dns_domain");
	is_str(get(vm, "sdc:owner_uuid"), "SUCCESS 00000000-0000-0000-0000-000000000000",
	       "sdc:owner_uuid");
	is_str(get(vm, "sdc:server_uuid"), "SUCCESS 5e7e5e7e-0000-4000-8000-000000000002",
	       "sdc:server_uuid");
	is_str(get(vm, "sdc:datacenter_name"), "SUCCESS dc1", "sdc:datacenter_name");
	is_str(get(vm, "sdc:image_uuid"), "SUCCESS 1b1b1b1b-0000-4000-8000-000000000003",
	       "sdc:image_uuid");
	is_str(get(vm, "sdc:tmpfs"), "SUCCESS 256", "sdc:tmpfs");
	is_str(get(vm, "sdc:resolvers"), "SUCCESS [\"192.0.2.53\",\"192.0.2.54\"]",
	       "sdc:resolvers");
	is_str(get(vm, "sdc:nics"),
	       "SUCCESS "
	       "[{\"interface\":\"net0\",\"mac\":\"02:00:00:0a:0b:0c\",\"ip\":\"192.0.2.5\"},"
	       "{\"interface\":\"net1\",\"mac\":\"02:00:00:0a:0b:0d\",\"ip\":\"dhcp\"}]",
	       "sdc:nics");
	is_str(get(vm, "sdc:routes"),
	       "SUCCESS [{\"linklocal\":false,\"dst\":\"10.0.0.0/8\",\"gateway\":\"192.0.2.1\"},"
	       "{\"linklocal\":true,\"dst\":\"172.16.0.0/12\",\"gateway\":\"192.0.2.5\"},"
	       "{\"linklocal\":true,\"dst\":\"198.18.0.0/15\",\"gateway\":\"192.0.2.5\"}]",
	       "sdc:routes: nic and mac gateways resolved, DHCP nic skipped");
	is_str(get(vm, "sdc:operator-script"), "SUCCESS op", "sdc:operator-script");
	is_str(get(vm, "sdc:volumes"), "SUCCESS []", "sdc:volumes");
	is_str(get(vm, "sdc:tags.role"), "SUCCESS db", "sdc:tags.<k>");
	is_str(get(vm, "sdc:tags.org.smartos:x"), "SUCCESS y", "sdc:tags with a dotted key");
	is_str(get(vm, "sdc:nics.0.ip"), "SUCCESS 192.0.2.5", "sdc:nics.0.ip");
	is_str(get(vm, "sdc:nics.5.ip"), "NOTFOUND", "sdc:nics.5.ip");
	is_str(get(vm, "sdc:resolvers.1"), "SUCCESS 192.0.2.54", "sdc:resolvers.1");
	is_str(get(vm, "sdc:tags"), "FAILURE", "an object: FAILURE");
	is_str(get(vm, "sdc:nope"), "NOTFOUND", "an absent field");
	is_str(get(vm, "user-script"), "SUCCESS #!/bin/sh\n", "customer_metadata");
	is_str(get(vm, "n"), "SUCCESS 5", "a number");
	is_str(get(vm, "t"), "SUCCESS true", "a boolean");
	is_str(get(vm, "obj"), "FAILURE", "an object value");
	is_str(get(vm, "e"), "SUCCESS", "empty string: SUCCESS without payload");
	is_str(get(vm, "root_pw"), "SUCCESS s3cret", "*_pw from internal_metadata");
	is_str(get(vm, "acme:k"), "SUCCESS i", "a listed namespace from internal_metadata");
	is_str(get(vm, "other"), "NOTFOUND", "other internal keys are not readable");
	is_str(get(vm, "missing"), "NOTFOUND", "absent key");
}

static const char *put(const json_t *vm, const char *key, const char *val)
{
	static char buf[1024];
	struct mdata_answer a = {0};
	json_t *u = NULL;
	_cleanup_free_ char *js = NULL;
	int r = val ? mdata_keys_put(vm, key, val, strlen(val), &u, &a)
		    : mdata_keys_delete(vm, key, &u, &a);

	if (r < 0)
		return "(error)";
	js = u ? json_dumps(u, JSON_COMPACT) : NULL;
	snprintf(buf, sizeof(buf), "%s %.*s %s", mdata_code_name(a.code), (int)a.len,
		 a.data ? a.data : "", js ? js : "-");
	json_decref(u);
	mdata_answer_clear(&a);
	return buf;
}

static void test_keys_write(json_t *vm)
{
	struct mdata_answer a = {0};

	mdata_keys_list(vm, &a);
	is_str(a.data, "user-script\nn\nt\nobj\ne\nroot_pw\nacme:k", "KEYS");
	mdata_answer_clear(&a);
	is_str(put(vm, "foo", "bar"), "SUCCESS OK {\"set_customer_metadata\":{\"foo\":\"bar\"}}",
	       "PUT customer key");
	is_str(put(vm, "foo", ""), "SUCCESS OK {\"remove_customer_metadata\":[\"foo\"]}",
	       "PUT of an empty value removes");
	is_str(put(vm, "root_pw", "x"),
	       "SUCCESS OK {\"set_internal_metadata\":{\"root_pw\":\"x\"}}",
	       "PUT *_pw goes to internal_metadata");
	is_str(put(vm, "operator-script", "x"),
	       "SUCCESS OK {\"set_internal_metadata\":{\"operator-script\":\"x\"}}",
	       "PUT operator-script goes to internal_metadata");
	is_str(put(vm, "sdc:uuid", "x"), "FAILURE Cannot update the \"sdc\" Namespace. -",
	       "PUT sdc: refused");
	is_str(put(vm, "acme:k", "x"), "FAILURE Cannot update the \"acme\" Namespace. -",
	       "PUT namespaced refused");
	is_str(put(vm, "other:k", "x"),
	       "SUCCESS OK {\"set_customer_metadata\":{\"other:k\":\"x\"}}",
	       "an unlisted prefix is a customer key");
	is_str(put(vm, "k", "\xff"), "FAILURE Invalid PUT Request -", "a value that is not UTF-8");
	is_str(put(vm, "foo", NULL), "SUCCESS OK {\"remove_customer_metadata\":[\"foo\"]}",
	       "DELETE");
	is_str(put(vm, "a_pw", NULL), "SUCCESS OK {\"remove_internal_metadata\":[\"a_pw\"]}",
	       "DELETE *_pw");
	is_str(put(vm, "sdc:x", NULL), "FAILURE Cannot update the \"sdc\" Namespace. -",
	       "DELETE sdc: refused");
	is_str(put(vm, "acme:z", NULL), "FAILURE Cannot update the \"acme\" Namespace. -",
	       "DELETE namespaced refused");
}

/* A PUT answered later (the server waits for zoneadmd's `vmadm update`). */
static void test_deferred(void)
{
	struct mdata_session *s = mdata_session_new(&fake, NULL);
	struct mdata_buf req = {0};
	struct mdata_answer a = {0};
	const char *o;
	size_t olen;

	ok(s && mdata_v2_format(&req, "0a1b2c3d", "PUT", "bGF0ZXI= dg==", 13) == 0, "PUT framed");
	is_int(mdata_session_feed(s, "NEGOTIATE V2\n", 13), 13, "negotiated");
	mdata_session_consume(s, 6);
	is_int(mdata_session_feed(s, req.data, req.len), (long)req.len, "PUT fed");
	mdata_session_output(s, &olen);
	ok(olen == 0 && mdata_session_deferred(s), "no answer yet, deferred");
	mdata_answer_set(&a, MDATA_SUCCESS, "OK", 2);
	is_int(mdata_session_complete(s, &a), 0, "completed");
	o = mdata_session_output(s, &olen);
	ok(olen == 37 && memcmp(o, "V2 21 0599de6f 0a1b2c3d SUCCESS T0s=\n", 37) == 0,
	   "the answer carries the request's id");
	ok(!mdata_session_deferred(s), "no longer deferred");
	is_int(mdata_session_complete(s, &a), -EINVAL, "nothing to complete");
	mdata_session_consume(s, olen);
	mdata_session_feed(s, req.data, req.len);
	mdata_answer_set(&a, MDATA_FAILURE, "no", 2);
	mdata_session_complete(s, &a);
	o = mdata_session_output(s, &olen);
	ok(olen > 0 && strstr(o, " FAILURE bm8=\n") != NULL, "a failure answered likewise");
	mdata_buf_free(&req);
	mdata_session_free(s);
	is_str(run("PUT later v\n"), "FAILURE\n", "V1 never defers");
}

/* The per-VM token bucket. */
static void test_rate(void)
{
	struct mdata_rate r;
	int n = 0;

	mdata_rate_init(&r, 200, 400, 1000);
	while (mdata_rate_take(&r, 1000) == 0 && n < 1000)
		n++;
	is_int(n, 400, "a full bucket: the burst");
	is_int((long)mdata_rate_take(&r, 1000), 5, "then one token per 5 ms");
	is_int((long)mdata_rate_take(&r, 1004), 1, "1 ms to go");
	is_int((long)mdata_rate_take(&r, 1005), 0, "a token after 5 ms");
	is_int((long)mdata_rate_take(&r, 900), 5, "a clock going back adds nothing");
	n = 0;
	while (mdata_rate_take(&r, 1000000) == 0 && n < 1000)
		n++;
	is_int(n, 400, "a long pause refills up to the burst only");
	mdata_rate_init(&r, 0, 0, 0);
	is_int((long)mdata_rate_take(&r, 0), 0, "0s count as 1: one token");
	is_int((long)mdata_rate_take(&r, 0), 1000, "then one a second");
}

int main(void)
{
	json_t *vm = NULL;

	test_crc_b64();
	test_v2_frames();
	test_v1_format();
	test_session();
	test_session_v2_edges();
	test_splits();
	test_oversize();
	test_big_put();
	test_deferred();
	test_rate();
	if (jsonutil_parse(vm_json, strlen(vm_json), "vm", &vm, NULL) < 0) {
		ok(0, "test VM parses");
		return tap_done();
	}
	test_keys_get(vm);
	test_keys_write(vm);
	json_decref(vm);
	return tap_done();
}
