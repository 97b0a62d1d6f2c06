/*
 * runc-store.c - zonehost-runc's record of each container and its status
 * (docs/architecture.md §24).
 *
 * <root>/<id>/ is made with mkdir(2): the one atomic step that says "this
 * id is taken", so two creates of one id cannot both go on.  Inside,
 * container.json holds what the VM does not: the id, the VM's uuid, the
 * bundle and rootfs, the creation time, the annotations, the hooks.
 *
 * The status is read, never stored: the VM not live -> stopped; live and
 * zoneadmd's state "created" -> created; else running, or paused when the
 * zone's cgroup is frozen.  An init that has exited but is not yet reaped
 * by the caller (a zombie), or whose zoneadmd is still ending, is stopped:
 * containerd's shim runs `delete` as soon as it reaps init.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "jsonutil.h"
#include "macro.h"
#include "oci.h"
#include "runc.h"
#include "runstate.h"
#include "vm.h"

#define RECORD "container.json"

void ctr_clear(struct ctr *c)
{
	free(c->bundle);
	free(c->rootfs);
	free(c->created);
	free(c->owner);
	json_decref(c->annotations);
	json_decref(c->hooks);
	*c = (struct ctr){0};
}

static char *ctr_path(const struct rt *rt, const char *id, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s%s%s", rt->root, id, name ? "/" : "", name ? name : "") < 0)
		return NULL;
	return p;
}

static char *dup_str(const json_t *o, const char *k)
{
	const char *s = jsonutil_str(o, k);

	return s ? strdup(s) : NULL;
}

static int from_json(struct ctr *c, const char *id, const json_t *o, struct zh_error *err)
{
	const char *uuid = jsonutil_str(o, "uuid");

	if (!uuid || !util_is_uuid(uuid))
		return zh_error_set(err, EINVAL, NULL, "container %s: its record is damaged", id);
	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
	c->bundle = dup_str(o, "bundle");
	c->rootfs = dup_str(o, "rootfs");
	c->created = dup_str(o, "created");
	c->owner = dup_str(o, "owner");
	c->annotations = json_incref(json_object_get(o, "annotations"));
	c->hooks = json_incref(json_object_get(o, "hooks"));
	return 0;
}

int ctr_load(const struct rt *rt, const char *id, struct ctr *c, struct zh_error *err)
{
	_cleanup_free_ char *p = ctr_path(rt, id, RECORD);
	_cleanup_json_ json_t *o = NULL;
	struct zh_error e = ZH_ERROR_INIT;
	int r;

	*c = (struct ctr){0};
	if (!p)
		return zh_error_oom(err);
	if (strchr(id, '/') || streq(id, ".") || streq(id, ".."))
		return zh_error_set(err, ENOENT, NULL, "container does not exist");
	r = jsonutil_load_file(p, 1 << 20, &o, &e);
	zh_error_clear(&e);
	if (r < 0)
		return zh_error_set(err, ENOENT, NULL, "container does not exist");
	return from_json(c, id, o, err);
}

int ctr_reserve(const struct rt *rt, const char *id, struct zh_error *err)
{
	_cleanup_free_ char *p = ctr_path(rt, id, NULL);

	if (!p)
		return zh_error_oom(err);
	if (mkdir(rt->root, 0700) < 0 && errno != EEXIST)
		return zh_error_set(err, errno, "root", "cannot make root %s: %m", rt->root);
	if (mkdir(p, 0700) < 0) {
		if (errno == EEXIST)
			return zh_error_set(err, EEXIST, NULL,
					    "container with given ID already exists");
		return zh_error_set(err, errno, "root", "cannot make %s: %m", p);
	}
	return 0;
}

int ctr_save(const struct rt *rt, const struct ctr *c, struct zh_error *err)
{
	_cleanup_free_ char *p = ctr_path(rt, c->id, RECORD);
	_cleanup_json_ json_t *o =
		json_pack("{s:s,s:s,s:s?,s:s?,s:s?,s:s?}", "id", c->id, "uuid", c->uuid, "bundle",
			  c->bundle, "rootfs", c->rootfs, "created", c->created, "owner", c->owner);

	if (!p || !o)
		return zh_error_oom(err);
	if ((c->annotations && json_object_set(o, "annotations", c->annotations) < 0) ||
	    (c->hooks && json_object_set(o, "hooks", c->hooks) < 0))
		return zh_error_oom(err);
	return jsonutil_store_file(p, o, err);
}

void ctr_remove(const struct rt *rt, const char *id)
{
	_cleanup_free_ char *rec = ctr_path(rt, id, RECORD);
	_cleanup_free_ char *dir = ctr_path(rt, id, NULL);

	if (rec)
		unlink(rec);
	if (dir)
		rmdir(dir);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **ctr_list_ids(const struct rt *rt)
{
	DIR *d = opendir(rt->root);
	char **v = calloc(1, sizeof(char *));
	size_t n = 0;
	struct dirent *e;

	while (v && d && (e = readdir(d))) {
		char **nv;

		if (e->d_name[0] == '.')
			continue;
		nv = realloc(v, (n + 2) * sizeof(char *));
		if (!nv)
			break;
		v = nv;
		v[n] = strdup(e->d_name);
		v[n + (v[n] != NULL)] = NULL;
		n += v[n] != NULL;
	}
	if (d)
		closedir(d);
	if (v)
		qsort(v, n, sizeof(char *), cmp_str);
	return v;
}

/* ---- status ---- */

/* Has pid exited (gone, or a zombie its reaper has not collected)? */
static bool pid_ended(pid_t pid)
{
	char path[64], buf[512], *p;
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return !p || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X';
}

enum ctr_status ctr_status(const struct ctr *c, pid_t *pid)
{
	struct runstate rs;
	enum ctr_status s = CTR_STOPPED;

	*pid = 0;
	if (runstate_read(c->uuid, &rs) < 0)
		return CTR_STOPPED;
	if (rs.live && rs.pid > 0 && rs.state && !pid_ended(rs.pid)) {
		*pid = rs.pid;
		if (streq(rs.state, "created"))
			s = CTR_CREATED;
		else if (streq(rs.state, "booting") || streq(rs.state, "ready"))
			s = CTR_CREATING;
		else
			s = cgroup_frozen(c->uuid) == 1 ? CTR_PAUSED : CTR_RUNNING;
	}
	runstate_clear(&rs);
	return s;
}

const char *ctr_status_name(enum ctr_status s)
{
	static const char *const names[] = {"creating", "created", "running", "paused", "stopped"};

	return names[s];
}

void ctr_to_state(const struct ctr *c, struct oci_state *st, bool with_owner)
{
	pid_t pid;
	enum ctr_status s = ctr_status(c, &pid);
	long long sec = 0;
	long nsec = 0;

	if (c->created)
		sscanf(c->created, "%lld.%ld", &sec, &nsec);
	*st = (struct oci_state){
		.id = c->id,
		.status = ctr_status_name(s == CTR_CREATING ? CTR_CREATED : s),
		.pid = pid,
		.bundle = c->bundle ? c->bundle : "",
		.rootfs = c->rootfs ? c->rootfs : "",
		.created = {.tv_sec = (time_t)sec, .tv_nsec = nsec},
		.owner = with_owner ? (c->owner ? c->owner : "root") : NULL,
		.annotations = c->annotations,
	};
}

/* ---- destroy ---- */

int ctr_destroy(const struct ctr *c, struct zh_error *err)
{
	_cleanup_close_ int lfd = runstate_open_lock(c->uuid);
	int r;

	if (lfd >= 0) /* its zoneadmd is ending: let it finish */
		runstate_wait_released(lfd, 10000);
	r = vm_delete(c->uuid, err);
	if (r == -ENOENT) {
		zh_error_clear(err);
		r = 0;
	}
	return r;
}
