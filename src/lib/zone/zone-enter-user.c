/*
 * zone-enter-user.c - who the session runs as: the user's entry in the
 * ZONE's /etc/passwd and /etc/group, parsed here without allocating (the
 * host's NSS is never asked), or the numeric ids of an OCI exec.
 *
 * Owns: reading those two files of the zone from inside it (S, as zone
 * root: regular files only, not through a final symlink or a /proc magic
 * link, at most ENTER_FILE_MAX bytes, lines longer than ENTER_LINE_MAX
 * skipped) and the resulting struct enter_user.  Not: switching to it
 * (zone-enter.c), capabilities (zone-enter-oci.c).
 *
 *     if (enter_user_lookup(c) < 0) report c->err, _exit    (in S)
 *
 * `user` NULL is root, who may lack a passwd entry.  With has_ids the ids
 * are taken as they are (as runc does: the OCI `process.user`); the entry of
 * that uid, when there is one, only names HOME and the shell.  Supplementary
 * groups: given ones with has_ids, else those initgroups() would find.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"
#include "zone-enter-internal.h"

#define ENTER_LINE_MAX 2048
#define ENTER_FILE_MAX (4u << 20) /* bytes of passwd/group we read */

struct line_reader {
	int fd;
	size_t off, len, total;
	bool eof;
	char buf[4096];
};

/* Next byte, or -1 at EOF (a read error or ENTER_FILE_MAX count as EOF). */
static int next_byte(struct line_reader *r)
{
	if (r->off == r->len) {
		ssize_t n;

		if (r->eof)
			return -1;
		do
			n = read(r->fd, r->buf, sizeof(r->buf));
		while (n < 0 && errno == EINTR);
		if (n <= 0 || (r->total += (size_t)n) > ENTER_FILE_MAX) {
			r->eof = true;
			return -1;
		}
		r->off = 0;
		r->len = (size_t)n;
	}
	return (unsigned char)r->buf[r->off++];
}

/* Next line that fits in out (longer ones are skipped); false at EOF. */
static bool next_line(struct line_reader *r, char *out, size_t size)
{
	for (;;) {
		size_t n = 0;
		bool toolong = false;
		int ch;

		while ((ch = next_byte(r)) >= 0 && ch != '\n') {
			if (n + 1 < size)
				out[n++] = (char)ch;
			else
				toolong = true;
		}
		out[n] = '\0';
		if (ch < 0 && n == 0)
			return false;
		if (!toolong)
			return true;
	}
}

/*
 * Open a file of the zone for reading: non-blocking, not through a symlink
 * at its end nor a /proc magic link on the way (S runs as zone root and
 * holds fds of the caller), a regular file only (no FIFO, no device).
 */
static int open_zone_file(const char *path)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW,
			       .resolve = RESOLVE_NO_MAGICLINKS};
	struct stat st;
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* Split line on ':' into at most n fields (in place); returns the count. */
static size_t split_fields(char *line, char **f, size_t n)
{
	size_t i = 0;

	f[i++] = line;
	for (char *p = line; *p && i < n; p++)
		if (*p == ':') {
			*p = '\0';
			f[i++] = p + 1;
		}
	return i;
}

static bool parse_id(const char *s, uint32_t *out)
{
	uint64_t v;

	if (util_parse_u64(s, &v) < 0 || v >= UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

/* passwd line -> u when its name is `name` (NULL: when its uid is u->uid). */
static bool match_passwd(char *line, const char *name, struct enter_user *u)
{
	char *f[7];
	uint32_t uid, gid;

	if (split_fields(line, f, 7) != 7 || !parse_id(f[2], &uid) || !parse_id(f[3], &gid))
		return false;
	if (name ? !streq(f[0], name) : uid != u->uid)
		return false;
	u->uid = uid;
	u->gid = gid;
	copy_str(u->name, sizeof(u->name), f[0]);
	copy_str(u->home, sizeof(u->home), *f[5] ? f[5] : "/");
	copy_str(u->shell, sizeof(u->shell), *f[6] ? f[6] : "/bin/sh");
	return true;
}

/* The passwd entry named name (NULL: of uid u->uid) into u; found? */
static bool find_passwd(const char *name, struct enter_user *u)
{
	struct line_reader r = {.fd = -EBADF};
	char line[ENTER_LINE_MAX];
	bool found = false;

	r.fd = open_zone_file("/etc/passwd");
	if (r.fd < 0)
		return false;
	while (!found && next_line(&r, line, sizeof(line)))
		found = match_passwd(line, name, u);
	close(r.fd);
	return found;
}

/* An entry-less user: home "/", shell /bin/sh. */
static void default_user(struct enter_user *u, uid_t uid, gid_t gid, const char *name)
{
	*u = (struct enter_user){.uid = uid, .gid = gid};
	copy_str(u->name, sizeof(u->name), name);
	copy_str(u->home, sizeof(u->home), "/");
	copy_str(u->shell, sizeof(u->shell), "/bin/sh");
}

static int lookup_user(struct enter_child *c)
{
	const char *name = c->s->user ? c->s->user : "root";

	if (find_passwd(name, &c->u))
		return 0;
	if (!c->s->user) { /* no passwd entry for root: still log in */
		default_user(&c->u, 0, 0, "root");
		return 0;
	}
	return enter_fail(c, ENOENT, "user", "zlogin: user '%s' does not exist in zone %s", name,
			  c->s->uuid);
}

/* The OCI ids as given; the uid's entry, if any, names HOME and the shell. */
static int ids_user(struct enter_child *c)
{
	const struct zone_enter_spec *s = c->s;

	if (s->ngroups && !s->groups)
		return enter_fail(c, EINVAL, "groups", "zone_enter: groups: NULL");
	if (s->ngroups > ENTER_GROUPS_MAX)
		return enter_fail(c, E2BIG, "groups", "zone_enter: groups: more than %d",
				  ENTER_GROUPS_MAX);
	default_user(&c->u, s->uid, s->gid, "");
	if (find_passwd(NULL, &c->u)) {
		c->u.uid = s->uid;
		c->u.gid = s->gid;
	}
	for (size_t i = 0; i < s->ngroups; i++)
		c->u.groups[i] = s->groups[i];
	c->u.ngroups = (int)s->ngroups;
	return 0;
}

/* Does the comma-separated member list contain name? */
static bool has_member(char *list, const char *name)
{
	char *save = NULL;

	for (char *m = strtok_r(list, ",", &save); m; m = strtok_r(NULL, ",", &save))
		if (streq(m, name))
			return true;
	return false;
}

/* Supplementary groups, as initgroups() would: the primary one and every membership. */
static void lookup_groups(struct enter_user *u)
{
	struct line_reader r = {.fd = -EBADF};
	char line[ENTER_LINE_MAX];

	u->groups[0] = u->gid;
	u->ngroups = 1;
	r.fd = open_zone_file("/etc/group");
	if (r.fd < 0)
		return;
	while (u->ngroups < ENTER_GROUPS_MAX && next_line(&r, line, sizeof(line))) {
		char *f[4];
		uint32_t gid;

		if (split_fields(line, f, 4) == 4 && parse_id(f[2], &gid) && gid != u->gid &&
		    has_member(f[3], u->name))
			u->groups[u->ngroups++] = gid;
	}
	close(r.fd);
}

int enter_user_lookup(struct enter_child *c)
{
	if (c->s->has_ids)
		return ids_user(c);
	if (lookup_user(c) < 0)
		return -c->err.errnum;
	lookup_groups(&c->u);
	return 0;
}
