/*
 * mdata-serve.c - a tiny metadata server for the guest tools' tests
 * (docs/architecture.md §23): mdata-session answered by mdata-keys over a
 * VM config file, PUT and DELETE applied to the config in memory.
 *
 *     mdata-serve [--v1] socket PATH VM.json     a unix socket, one client at a time
 *     mdata-serve [--v1] pty LINK VM.json        a pty whose slave is symlinked at LINK
 *
 * --v1 plays a host that speaks V1 only (NEGOTIATE answered FAILURE).
 * Prints "ready" on stdout once clients may connect; runs until killed.
 */
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "jsonutil.h"
#include "mdata-keys.h"
#include "mdata-session.h"

static json_t *vm;
static bool v1_only;

/* Apply a set_X / remove_X update to the VM in memory. */
static void apply(json_t *u)
{
	const char *name;
	json_t *v, *e;
	size_t i;

	json_object_foreach (u, name, v) {
		bool set = strncmp(name, "set_", 4) == 0;
		json_t *md = json_object_get(vm, name + (set ? 4 : 7));

		if (set)
			json_object_update(md, v);
		else
			json_array_foreach (v, i, e)
				json_object_del(md, json_string_value(e));
	}
	json_decref(u);
}

static int st_get(void *ctx, const char *key, struct mdata_answer *a)
{
	return mdata_keys_get(vm, key, a);
}

static int st_keys(void *ctx, struct mdata_answer *a)
{
	return mdata_keys_list(vm, a);
}

static int st_put(void *ctx, const char *key, const char *val, size_t len, struct mdata_answer *a)
{
	json_t *u = NULL;
	int r = mdata_keys_put(vm, key, val, len, &u, a);

	if (u)
		apply(u);
	return r;
}

static int st_del(void *ctx, const char *key, struct mdata_answer *a)
{
	json_t *u = NULL;
	int r = mdata_keys_delete(vm, key, &u, a);

	if (u)
		apply(u);
	return r;
}

static const struct mdata_store_ops ops = {st_get, st_keys, st_put, st_del};

/* Feed what fd sends to s, writing the replies back: until EOF (socket) or forever (pty). */
static void serve(int fd, struct mdata_session *s, bool pty)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0 || (pty && n < 0)) {
		if (n < 0) {
			poll(NULL, 0, 50); /* EIO while no slave is open */
			continue;
		}
		for (char *p = buf; n > 0;) {
			ssize_t r = mdata_session_feed(s, p, (size_t)n);
			size_t olen;
			const char *o = mdata_session_output(s, &olen);

			if (r <= 0)
				return;
			if (v1_only && olen == 6 && memcmp(o, "V2_OK\n", 6) == 0)
				o = "FAILURE\n", olen = 8;
			if (olen && write(fd, o, olen) != (ssize_t)olen)
				return;
			mdata_session_consume(s, olen);
			p += r;
			n -= r;
		}
	}
}

static int serve_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), c;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 8) < 0)
		return perror("socket"), 1;
	printf("ready\n");
	fflush(stdout);
	while ((c = accept4(l, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		struct mdata_session *s = mdata_session_new(&ops, NULL);

		serve(c, s, false);
		mdata_session_free(s);
		close(c);
	}
	return 1;
}

static int serve_pty(const char *link)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), keep;
	struct mdata_session *s = mdata_session_new(&ops, NULL);

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		return perror("pty"), 1;
	keep = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC); /* no EIO between clients */
	unlink(link);
	if (keep < 0 || symlink(ptsname(m), link) < 0)
		return perror("pty slave"), 1;
	printf("ready\n");
	fflush(stdout);
	serve(m, s, true);
	return 1;
}

int main(int argc, char **argv)
{
	int i = 1;

	if (argc > 1 && strcmp(argv[1], "--v1") == 0)
		v1_only = true, i++;
	if (argc - i != 3 || jsonutil_load_file(argv[i + 2], 1 << 20, &vm, NULL) < 0) {
		fprintf(stderr, "usage: mdata-serve [--v1] socket|pty PATH VM.json\n");
		return 2;
	}
	if (strcmp(argv[i], "pty") == 0)
		return serve_pty(argv[i + 1]);
	return serve_socket(argv[i + 1]);
}
