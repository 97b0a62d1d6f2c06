/*
 * vmcfg-docker.c - the docker:* keys of a docker VM's internal_metadata
 * (docs/architecture.md §18, "Docker images"; Triton's docker VMs).
 *
 *   docker:entrypoint, docker:cmd, docker:env   a JSON array of strings,
 *                                               encoded as a string:
 *                                               "[\"/bin/sh\",\"-c\"]"
 *   docker:workdir                              an absolute path
 *   docker:user                                 "uid", "uid:gid", "name"
 *                                               or "name:group"
 *
 * vmcfg_docker_check() refuses a malformed one (bad value
 * "internal_metadata.docker:cmd", ...) on create and validate.
 * vmcfg_docker_fill() runs on create of a VM with docker: true and an
 * image_uuid: each key the payload lacks is taken from the image's docker
 * config (env->image_docker_config), as Triton does, except that an
 * entrypoint given without a cmd drops the image's Cmd (docker run
 * --entrypoint does the same).  Pure: the image is asked through env.
 */
#include <string.h>

#include "util.h"
#include "vmcfg-access.h"
#include "vmcfg-internal.h"

#define DOCKER_ARGS_MAX 4096
#define DOCKER_USER_MAX 256

static const struct {
	const char *key, *field;
	bool array;
} docker_keys[] = {
	{"docker:entrypoint", "Entrypoint", true},
	{"docker:cmd", "Cmd", true},
	{"docker:env", "Env", true},
	{"docker:workdir", "WorkingDir", false},
	{"docker:user", "User", false},
};

static bool string_array_text(const char *s)
{
	_cleanup_json_ json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);
	size_t i;
	json_t *e;

	if (!json_is_array(j) || json_array_size(j) > DOCKER_ARGS_MAX)
		return false;
	json_array_foreach (j, i, e)
		if (!json_is_string(e))
			return false;
	return true;
}

static bool user_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > DOCKER_USER_MAX || strchr(s, ':') != strrchr(s, ':'))
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '/')
			return false;
	return true;
}

static bool value_ok(size_t k, const json_t *v)
{
	const char *s = json_string_value(v);

	if (!s)
		return false;
	if (docker_keys[k].array)
		return string_array_text(s);
	if (streq(docker_keys[k].key, "docker:workdir"))
		return s[0] == '/' && !strchr(s, '\n');
	return user_ok(s);
}

int vmcfg_docker_check(struct vmcfg_run *r, const json_t *payload)
{
	const json_t *im = json_object_get(payload, "internal_metadata");

	if (!json_is_object(im))
		return 0;
	for (size_t k = 0; k < ARRAY_SIZE(docker_keys); k++) {
		const json_t *v = json_object_get(im, docker_keys[k].key);
		char name[64];

		if (!v || value_ok(k, v))
			continue;
		snprintf(name, sizeof(name), "internal_metadata.%s", docker_keys[k].key);
		if (vmcfg_rep_add(&r->rep.bad_values, name) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The image's value for key k as the internal_metadata string, or NULL. */
static json_t *from_image(const json_t *dc, size_t k)
{
	const json_t *v = json_object_get(dc, docker_keys[k].field);
	_cleanup_free_ char *s = NULL;

	if (!docker_keys[k].array)
		return json_is_string(v) ? json_incref((json_t *)v) : NULL;
	if (!json_is_array(v))
		return NULL;
	s = json_dumps(v, JSON_COMPACT);
	return s ? json_string(s) : NULL;
}

static int fill_from(json_t *im, const json_t *dc)
{
	bool own_entrypoint = json_object_get(im, "docker:entrypoint") != NULL;

	for (size_t k = 0; k < ARRAY_SIZE(docker_keys); k++) {
		json_t *v;

		if (json_object_get(im, docker_keys[k].key))
			continue;
		if (own_entrypoint && streq(docker_keys[k].key, "docker:cmd"))
			continue;
		v = from_image(dc, k);
		if (v && json_object_set_new(im, docker_keys[k].key, v) < 0)
			return -ENOMEM;
	}
	return 0;
}

int vmcfg_docker_fill(struct vmcfg_run *r, json_t *cfg)
{
	const char *img = jsonutil_str(cfg, "image_uuid");
	const char *pool = jsonutil_str(cfg, "zpool");
	json_t *im = json_object_get(cfg, "internal_metadata");
	_cleanup_json_ json_t *dc = NULL;

	if (!json_is_true(json_object_get(cfg, "docker")) || !img || !json_is_object(im) ||
	    !r->env || !r->env->image_docker_config)
		return 0;
	if (r->env->image_docker_config(r->env->ctx, pool ? pool : "zones", img, &dc) < 0)
		return 0; /* not a docker image: nothing to take */
	return fill_from(im, dc) < 0 ? zh_error_oom(r->err) : 0;
}
