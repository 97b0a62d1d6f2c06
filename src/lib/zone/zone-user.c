/*
 * zone-user.c - a process's user ("uid", "uid:gid", "name", "name:group")
 * resolved in the zone's OWN /etc/passwd and /etc/group, in the zone's
 * first process after pivot_root (docs/architecture.md §24.3).
 *
 * Owns: the parsing of those two files in the child.  Runs in the child
 * only (zone-internal.h rules: no logging, no allocation).
 *
 *     struct zone_ids ids;
 *     if (zone_user_resolve(c, "www:adm", &ids) < 0) ...   c->msg says why
 *
 * The files are the tenant's: each is opened O_NOFOLLOW | O_NONBLOCK (a
 * FIFO planted there cannot stall the boot, a symlink is refused rather
 * than followed), must be a regular file, and is read through a fixed
 * buffer, at most ZONE_USER_READ_MAX bytes; a line longer than the buffer
 * is skipped.  Being after pivot_root, nothing resolved here can name a
 * host file.  A numeric user needs no passwd entry (its group is then the
 * entry's if there is one, else 0); a name without an entry is refused
 * with the runc wording ("no matching entries in passwd file").  The
 * supplementary groups are those of /etc/group that list the user's name.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "zone-internal.h"

#define ZONE_USER_READ_MAX (4u << 20)
#define LINE_MAX_LEN	   4096
#define FIELDS_MAX	   8

/* A decimal id (no sign, no blank, fits 32 bits); -1 otherwise. */
static long long parse_id(const char *s, size_t n)
{
	long long v = 0;

	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= (long long)UINT32_MAX - 1 ? v : -1;
}

/* Split line on ':' into at most FIELDS_MAX fields; returns the count. */
static size_t split(char *line, char **f)
{
	size_t n = 0;

	f[n++] = line;
	for (char *p = line; *p && n < FIELDS_MAX; p++)
		if (*p == ':') {
			*p = '\0';
			f[n++] = p + 1;
		}
	return n;
}

typedef bool (*line_fn)(void *ctx, char **f, size_t n);

static int open_db(struct zone_child *c, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? -ENOENT : zone_child_fail(c, errno, "open %s: %m", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return zone_child_fail(c, EINVAL, "%s in the zone is not a regular file", path);
	}
	return fd;
}

/* Feed each complete line to fn until it returns true; bounded. */
static int scan_lines(int fd, line_fn fn, void *ctx)
{
	char buf[LINE_MAX_LEN + 1];
	size_t used = 0, total = 0;
	bool skipping = false;
	ssize_t n;

	while (total < ZONE_USER_READ_MAX && (n = read(fd, buf + used, LINE_MAX_LEN - used)) > 0) {
		total += (size_t)n;
		used += (size_t)n;
		char *start = buf, *nl;
		while ((nl = memchr(start, '\n', used - (size_t)(start - buf)))) {
			*nl = '\0';
			char *f[FIELDS_MAX];
			if (!skipping && *start != '#' && fn(ctx, f, split(start, f)))
				return 1;
			skipping = false;
			start = nl + 1;
		}
		used -= (size_t)(start - buf);
		memmove(buf, start, used);
		if (used == LINE_MAX_LEN) { /* an overlong line: skip to its end */
			used = 0;
			skipping = true;
		}
	}
	return 0;
}

struct pw_find {
	const char *name; /* by name, or */
	long long uid;	  /* by uid */
	struct zone_ids *ids;
	char user[256];
};

static bool pw_line(void *ctx, char **f, size_t n)
{
	struct pw_find *p = ctx;
	long long uid, gid;

	if (n < 4 || (uid = parse_id(f[2], strlen(f[2]))) < 0 ||
	    (gid = parse_id(f[3], strlen(f[3]))) < 0)
		return false;
	if (p->name ? !streq(p->name, f[0]) : uid != p->uid)
		return false;
	p->ids->uid = (uid_t)uid;
	p->ids->gid = (gid_t)gid;
	snprintf(p->user, sizeof(p->user), "%s", f[0]);
	return true;
}

struct gr_find {
	const char *name; /* the group asked for, or NULL */
	long long gid;
	const char *member; /* collect the groups listing this user */
	struct zone_ids *ids;
};

static bool listed(char *members, const char *user)
{
	for (char *save = NULL, *m = strtok_r(members, ",", &save); m;
	     m = strtok_r(NULL, ",", &save))
		if (streq(m, user))
			return true;
	return false;
}

static bool gr_line(void *ctx, char **f, size_t n)
{
	struct gr_find *g = ctx;
	long long gid;

	if (n < 3 || (gid = parse_id(f[2], strlen(f[2]))) < 0)
		return false;
	if (g->name && streq(g->name, f[0]))
		g->gid = gid;
	if (g->member && n >= 4 && listed(f[3], g->member) && g->ids->ngids < ZONE_GIDS_MAX)
		g->ids->gids[g->ids->ngids++] = (gid_t)gid;
	return false; /* read on: every group listing the user */
}

static int find_user(struct zone_child *c, const char *u, size_t ulen, struct pw_find *p)
{
	char name[256];
	int r = 0;

	if (ulen >= sizeof(name))
		return zone_child_fail(c, EINVAL, "user \"%s\": name too long", u);
	memcpy(name, u, ulen);
	name[ulen] = '\0';
	p->uid = parse_id(name, ulen);
	p->name = p->uid < 0 ? name : NULL;
	int fd = open_db(c, "/etc/passwd");
	if (fd >= 0) {
		r = scan_lines(fd, pw_line, p);
		close(fd);
	} else if (fd != -ENOENT) {
		return fd;
	}
	if (r == 0 && p->name)
		return zone_child_fail(c, ENOENT,
				       "unable to find user %s: no matching entries in passwd file",
				       name);
	if (r == 0)
		p->ids->uid = (uid_t)p->uid; /* numeric, no entry: group 0 */
	p->name = NULL;
	return 0;
}

static int find_groups(struct zone_child *c, const char *grp, const char *user,
		       struct zone_ids *ids)
{
	struct gr_find g = {.name = grp, .gid = -1, .member = user, .ids = ids};
	long long num = grp ? parse_id(grp, strlen(grp)) : -1;
	int fd;

	if (num >= 0)
		g.name = NULL;
	fd = open_db(c, "/etc/group");
	if (fd >= 0) {
		scan_lines(fd, gr_line, &g);
		close(fd);
	} else if (fd != -ENOENT) {
		return fd;
	}
	if (num >= 0)
		ids->gid = (gid_t)num;
	else if (grp && g.gid < 0)
		return zone_child_fail(c, ENOENT,
				       "unable to find group %s: no matching entries in group file",
				       grp);
	else if (grp)
		ids->gid = (gid_t)g.gid;
	return 0;
}

int zone_user_resolve(struct zone_child *c, const char *spec, struct zone_ids *ids)
{
	const char *colon = strchr(spec, ':');
	size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
	struct pw_find p = {.ids = ids};

	ids->uid = 0;
	ids->gid = 0;
	ids->ngids = 0;
	if (ulen == 0)
		return zone_child_fail(c, EINVAL, "user \"%s\": empty user name", spec);
	if (find_user(c, spec, ulen, &p) < 0)
		return -c->errnum;
	return find_groups(c, colon && colon[1] ? colon + 1 : NULL, p.user[0] ? p.user : NULL, ids);
}
