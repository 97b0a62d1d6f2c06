/*
 * imgadm-source.c - imgadm sources, avail, import and vacuum.
 *
 *     imgadm sources [-a URL | -d URL]
 *     imgadm avail [-j] [-H] [-o field,...]
 *     imgadm import [-P pool] [-q] UUID
 *     imgadm vacuum [-n]
 *
 * Source edits, import and vacuum hold the host lock (lock.h).  A progress
 * bar goes to stderr, and only when stderr is a terminal.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmdutil.h"
#include "image.h"
#include "imgadm.h"
#include "jsonutil.h"
#include "lock.h"
#include "pool.h"
#include "util.h"

#define AVAIL_COLUMNS "uuid,name,version,os,type,pub"

static int err_exit(struct zh_error *err)
{
	fprintf(stderr, "imgadm: error: %s\n", err->msg);
	zh_error_clear(err);
	return EXIT_ERR;
}

static int bad_usage(const char *msg)
{
	fprintf(stderr, "imgadm: error (Usage): %s\n", msg);
	return EXIT_USAGE;
}

/* ---- sources ---- */

static int sources_list(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *list = NULL;
	size_t i;
	json_t *s;

	if (image_sources_get(&list, &err) < 0)
		return err_exit(&err);
	json_array_foreach (list, i, s)
		printf("%s\n", json_string_value(s));
	return EXIT_OK;
}

int imgadm_sources(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_close_ int lock = -EBADF;
	const char *add = NULL, *del = NULL;
	int c;

	while ((c = getopt(argc, argv, "+a:d:")) != -1) {
		switch (c) {
		case 'a': add = optarg; break;
		case 'd': del = optarg; break;
		default: return bad_usage("sources [-a URL | -d URL]");
		}
	}
	if (optind < argc || (add && del))
		return bad_usage("sources [-a URL | -d URL]");
	if (!add && !del)
		return sources_list();
	lock = lock_host(&err);
	if (lock < 0 || (add ? image_sources_add(add, &err) : image_sources_delete(del, &err)) < 0)
		return err_exit(&err);
	printf("%s image source \"%s\"\n", add ? "Added" : "Deleted", add ? add : del);
	return EXIT_OK;
}

/* ---- avail ---- */

/* Active manifests of every source, as list records {"manifest","source"}. */
static int avail_collect(json_t *rows, struct zh_error *err)
{
	_cleanup_json_ json_t *list = NULL;
	size_t i, k;
	json_t *s, *m;
	int r = image_sources_get(&list, err);

	json_array_foreach (list, i, s) {
		_cleanup_json_ json_t *ms = NULL;

		if (r < 0 || (r = image_source_avail(json_string_value(s), &ms, err)) < 0)
			return r;
		json_array_foreach (ms, k, m) {
			if (!json_is_object(m) || !streq(jsonutil_str(m, "state") ?: "", "active"))
				continue;
			if (json_array_append_new(
				    rows, json_pack("{sOsO}", "manifest", m, "source", s)) < 0)
				return zh_error_oom(err);
		}
	}
	return r;
}

int imgadm_avail(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *rows = json_array();
	const char *columns = AVAIL_COLUMNS;
	bool json = false, header = true;
	int c;

	while ((c = getopt(argc, argv, "+jHo:")) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'H': header = false; break;
		case 'o': columns = optarg; break;
		default: return bad_usage("avail [-j] [-H] [-o field,...]");
		}
	}
	if (optind < argc)
		return bad_usage("avail [-j] [-H] [-o field,...]");
	if (!rows || avail_collect(rows, &err) < 0)
		return err.msg ? err_exit(&err) : cmd_die(EXIT_ERR, "imgadm: error: out of memory");
	if (json) {
		_cleanup_json_ json_t *ms = json_array();
		size_t i;
		json_t *rec;

		json_array_foreach (rows, i, rec)
			json_array_append(ms, json_object_get(rec, "manifest"));
		cmd_print_json(ms);
	} else if (imgadm_print_table(rows, columns, header) < 0)
		return cmd_die(EXIT_ERR, "imgadm: error: out of memory");
	return EXIT_OK;
}

/* ---- import ---- */

static void progress_bar(void *ud, uint64_t done, uint64_t total)
{
	unsigned pct = total ? (unsigned)(done * 100 / total) : 0;
	char bar[41];

	(void)ud;
	if (pct > 100)
		pct = 100;
	memset(bar, '#', pct * 40 / 100);
	memset(bar + pct * 40 / 100, '.', 40 - pct * 40 / 100);
	bar[40] = '\0';
	fprintf(stderr, "\r[%s] %3u%% %llu/%llu", bar, pct, (unsigned long long)done,
		(unsigned long long)total);
}

/* One line per image, origins first (they came in the chain of uuid). */
static void print_imported(const json_t *done, const char *uuid)
{
	size_t i;
	json_t *m;

	json_array_foreach (done, i, m) {
		const char *u = jsonutil_str(m, "uuid");

		printf("Imported %simage %s (%s@%s)\n", streq(u, uuid) ? "" : "origin ", u,
		       jsonutil_str(m, "name"), jsonutil_str(m, "version"));
	}
}

int imgadm_import(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_json_ json_t *have = NULL, *done = NULL;
	_cleanup_close_ int lock = -EBADF;
	const char *pool = NULL, *uuid;
	bool quiet = false, tty = isatty(STDERR_FILENO);
	int c;

	while ((c = getopt(argc, argv, "+P:q")) != -1) {
		switch (c) {
		case 'P': pool = optarg; break;
		case 'q': quiet = true; break;
		default: return bad_usage("import [-P pool] [-q] UUID");
		}
	}
	if (optind != argc - 1 || !util_is_uuid(argv[optind]))
		return bad_usage("import [-P pool] [-q] UUID");
	uuid = argv[optind];
	lock = lock_host(&err);
	if (lock < 0 || imgadm_open_pool(pool, &p, &err) < 0)
		return err_exit(&err);
	if (image_get(p, uuid, &have, &err) == 0) {
		printf("Image %s is already installed, skipping\n", uuid);
		return EXIT_OK;
	}
	zh_error_clear(&err);
	c = image_source_import(p, uuid, tty && !quiet ? progress_bar : NULL, NULL, &done, &err);
	if (tty && !quiet)
		fputc('\n', stderr);
	if (c < 0)
		return err_exit(&err);
	if (!quiet)
		print_imported(done, uuid);
	return EXIT_OK;
}

/* ---- vacuum ---- */

/* Images no VM uses and no kept image has as origin, children before their origins. */
static int vacuum_pool(const char *name, bool dry, struct zh_error *err)
{
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_json_ json_t *plan = NULL;
	size_t i;
	json_t *rec;
	int r = pool_open(name, &p, err);

	if (r < 0 || (r = image_vacuum_plan(p, &plan, err)) < 0)
		return r;
	json_array_foreach (plan, i, rec) {
		const json_t *m = json_object_get(rec, "manifest");
		const char *uuid = jsonutil_str(m, "uuid");

		if (!dry && (r = image_delete(p, uuid, err)) < 0)
			return r;
		printf("%s image %s (%s@%s)\n", dry ? "Would delete" : "Deleted", uuid,
		       jsonutil_str(m, "name"), jsonutil_str(m, "version"));
	}
	return 0;
}

int imgadm_vacuum(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_strv_ char **names = NULL;
	_cleanup_close_ int lock = -EBADF;
	bool dry = false;
	int c;

	while ((c = getopt(argc, argv, "+n")) != -1) {
		if (c != 'n')
			return bad_usage("vacuum [-n]");
		dry = true;
	}
	if (optind < argc)
		return bad_usage("vacuum [-n]");
	lock = lock_host(&err);
	if (lock < 0 || pool_list(&names, &err) < 0)
		return err_exit(&err);
	for (size_t i = 0; names[i]; i++)
		if (vacuum_pool(names[i], dry, &err) < 0)
			return err_exit(&err);
	return EXIT_OK;
}
