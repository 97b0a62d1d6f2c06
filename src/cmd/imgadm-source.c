/*
 * imgadm-source.c - imgadm sources, avail, import and vacuum.
 *
 *     imgadm sources [-v | -c | -a URL [LIMITS] | -d URL]
 *     imgadm avail [-j] [-H] [-o field,...] [LIMITS]
 *     imgadm import [-P pool] [-q] [LIMITS] UUID
 *     imgadm vacuum [-n]
 *
 *     LIMITS: --speed-limit BYTES --speed-time SECONDS --max-time SECONDS
 *
 * Source edits and vacuum hold the host lock (lock.h); import holds it only
 * to open the pool and, inside image_source_import(), to install what it
 * has downloaded and verified; avail and source checks take no lock.
 * During an import, SIGINT, SIGTERM and SIGHUP stop it cleanly (exit 1,
 * nothing left).  A progress bar goes to stderr, and only when stderr is a
 * terminal.
 */
#include <getopt.h>
#include <signal.h>
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
#define LIMITS_USAGE  "[--speed-limit BYTES] [--speed-time SECONDS] [--max-time SECONDS]"

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

/* ---- limit options ---- */

enum { OPT_SPEED_LIMIT = 0x100, OPT_SPEED_TIME, OPT_MAX_TIME };

static const struct option limit_options[] = {
	{"speed-limit", required_argument, NULL, OPT_SPEED_LIMIT},
	{"speed-time", required_argument, NULL, OPT_SPEED_TIME},
	{"max-time", required_argument, NULL, OPT_MAX_TIME},
	{NULL, 0, NULL, 0},
};

/* A --speed-limit/--speed-time/--max-time option into l: 1 if c was one, 0 if not, or EXIT_USAGE.
 */
static int limit_option(int c, struct image_http_limits *l)
{
	struct zh_error err = ZH_ERROR_INIT;
	int r;

	if (c == OPT_SPEED_LIMIT)
		r = image_http_limit_parse("speed-limit", optarg, &l->speed_limit, &err);
	else if (c == OPT_SPEED_TIME)
		r = image_http_limit_parse("speed-time", optarg, &l->speed_time, &err);
	else if (c == OPT_MAX_TIME)
		r = image_http_limit_parse("max-time", optarg, &l->max_time, &err);
	else
		return 0;
	if (r == 0)
		return 1;
	r = bad_usage(err.msg);
	zh_error_clear(&err);
	return -r;
}

/* ---- sources ---- */

static void print_limits(const json_t *source)
{
	const char *url = image_source_url(source);
	struct image_http_limits api, file;

	image_source_limits(source, NULL, false, &api);
	image_source_limits(source, NULL, true, &file);
	printf("%s  speed-limit %ld B/s for %ld s (speed-time), max-time %ld s (answers) / %ld s "
	       "(files), redirects to %s only, at most %d\n",
	       url, api.speed_limit, api.speed_time, api.max_time, file.max_time,
	       strncmp(url, "https://", 8) == 0 ? "https" : "http or https", IMAGE_REDIRECTS_MAX);
}

static int sources_list(bool verbose)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *list = NULL;
	size_t i;
	json_t *s;

	if (image_sources_get(&list, &err) < 0)
		return err_exit(&err);
	json_array_foreach (list, i, s) {
		if (verbose)
			print_limits(s);
		else
			printf("%s\n", image_source_url(s));
	}
	return EXIT_OK;
}

/* imgadm sources -c: ping every source, one line each; 1 when any fails. */
static int sources_check(const struct image_http_limits *lim)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct image_fetch f = {.limits = *lim};
	_cleanup_json_ json_t *list = NULL;
	int rc = EXIT_OK;
	size_t i;
	json_t *s;

	if (image_sources_get(&list, &err) < 0)
		return err_exit(&err);
	json_array_foreach (list, i, s) {
		if (image_source_ping(s, &f, &err) == 0) {
			printf("%s: ok\n", image_source_url(s));
			continue;
		}
		printf("%s: error: %s\n", image_source_url(s), err.msg);
		zh_error_clear(&err);
		rc = EXIT_ERR;
	}
	return rc;
}

struct sources_args {
	const char *add, *del;
	bool verbose, check;
	struct image_http_limits lim;
};

static int parse_sources(int argc, char **argv, struct sources_args *a)
{
	static const char use[] = "sources [-v | -c | -a URL " LIMITS_USAGE " | -d URL]";
	bool lim = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "+a:d:vc", limit_options, NULL)) != -1) {
		switch (c) {
		case 'a': a->add = optarg; break;
		case 'd': a->del = optarg; break;
		case 'v': a->verbose = true; break;
		case 'c': a->check = true; break;
		default:
			if ((r = limit_option(c, &a->lim)) < 0)
				return -r;
			if (r == 0)
				return bad_usage(use);
			lim = true;
		}
	}
	if (optind < argc || (a->add && a->del) ||
	    ((a->add || a->del) && (a->verbose || a->check)) || (a->verbose && a->check) ||
	    (lim && !a->add && !a->check))
		return bad_usage(use);
	return 0;
}

int imgadm_sources(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct sources_args a = {.lim = IMAGE_HTTP_LIMITS_UNSET};
	_cleanup_close_ int lock = -EBADF;
	int r = parse_sources(argc, argv, &a);

	if (r != 0)
		return r;
	if (a.check)
		return sources_check(&a.lim);
	if (!a.add && !a.del)
		return sources_list(a.verbose);
	lock = lock_host(&err);
	if (lock < 0 || (a.add ? image_sources_add(a.add, &a.lim, &err)
			       : image_sources_delete(a.del, &err)) < 0)
		return err_exit(&err);
	printf("%s image source \"%s\"\n", a.add ? "Added" : "Deleted", a.add ? a.add : a.del);
	return EXIT_OK;
}

/* ---- avail ---- */

/* Active manifests of every source, as list records {"manifest","source"}. */
static int avail_collect(const struct image_fetch *f, json_t *rows, struct zh_error *err)
{
	_cleanup_json_ json_t *list = NULL;
	size_t i, k;
	json_t *s, *m;
	int r = image_sources_get(&list, err);

	json_array_foreach (list, i, s) {
		_cleanup_json_ json_t *ms = NULL;

		if (r < 0 || (r = image_source_avail(s, f, &ms, err)) < 0)
			return r;
		json_array_foreach (ms, k, m) {
			if (!json_is_object(m) || !streq(jsonutil_str(m, "state") ?: "", "active"))
				continue;
			if (json_array_append_new(rows, json_pack("{sOss}", "manifest", m, "source",
								  image_source_url(s))) < 0)
				return zh_error_oom(err);
		}
	}
	return r;
}

static void print_avail_json(const json_t *rows)
{
	_cleanup_json_ json_t *ms = json_array();
	size_t i;
	json_t *rec;

	json_array_foreach (rows, i, rec)
		json_array_append(ms, json_object_get(rec, "manifest"));
	cmd_print_json(ms);
}

int imgadm_avail(int argc, char **argv)
{
	static const char use[] = "avail [-j] [-H] [-o field,...] " LIMITS_USAGE;
	struct zh_error err = ZH_ERROR_INIT;
	struct image_fetch f = {.limits = IMAGE_HTTP_LIMITS_UNSET};
	_cleanup_json_ json_t *rows = json_array();
	const char *columns = AVAIL_COLUMNS;
	bool json = false, header = true;
	int c, r;

	while ((c = getopt_long(argc, argv, "+jHo:", limit_options, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'H': header = false; break;
		case 'o': columns = optarg; break;
		default:
			if ((r = limit_option(c, &f.limits)) <= 0)
				return r < 0 ? -r : bad_usage(use);
		}
	}
	if (optind < argc)
		return bad_usage(use);
	if (!rows || avail_collect(&f, rows, &err) < 0)
		return err.msg ? err_exit(&err) : cmd_die(EXIT_ERR, "imgadm: error: out of memory");
	if (json)
		print_avail_json(rows);
	else if (imgadm_print_table(rows, columns, header) < 0)
		return cmd_die(EXIT_ERR, "imgadm: error: out of memory");
	return EXIT_OK;
}

/* ---- import ---- */

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

/* SIGINT, SIGTERM, SIGHUP set stop_signal; no SA_RESTART, so waits end at once. */
static void catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

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

	if (json_array_size(done) == 0) /* another import did it while we waited */
		printf("Image %s is already installed, skipping\n", uuid);
	json_array_foreach (done, i, m) {
		const char *u = jsonutil_str(m, "uuid");

		printf("Imported %simage %s (%s@%s)\n", streq(u, uuid) ? "" : "origin ", u,
		       jsonutil_str(m, "name"), jsonutil_str(m, "version"));
	}
}

struct import_args {
	const char *pool, *uuid, *file;
	bool quiet;
	struct image_http_limits lim;
};

static int parse_import(int argc, char **argv, struct import_args *a)
{
	static const char use[] = "import [-P pool] [-q] " LIMITS_USAGE " UUID | -f FILE.tar";
	int c, r;

	while ((c = getopt_long(argc, argv, "+P:qf:", limit_options, NULL)) != -1) {
		switch (c) {
		case 'P': a->pool = optarg; break;
		case 'q': a->quiet = true; break;
		case 'f': a->file = optarg; break;
		default:
			if ((r = limit_option(c, &a->lim)) <= 0)
				return r < 0 ? -r : bad_usage(use);
		}
	}
	if (a->file)
		return optind == argc ? 0 : bad_usage(use);
	if (optind != argc - 1 || !util_is_uuid(argv[optind]))
		return bad_usage(use);
	a->uuid = argv[optind];
	return 0;
}

/* The pool, opened (or made) under the host lock, which is released again. */
static int open_pool_briefly(const char *name, struct pool **p, struct zh_error *err)
{
	_cleanup_close_ int lock = lock_host(err);

	if (lock < 0)
		return lock;
	return imgadm_open_pool(name, p, err);
}

int imgadm_import(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct import_args a = {.lim = IMAGE_HTTP_LIMITS_UNSET};
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_json_ json_t *have = NULL, *done = NULL;
	bool bar = isatty(STDERR_FILENO);
	struct image_fetch f;
	int r = parse_import(argc, argv, &a);

	if (r != 0)
		return r;
	if (open_pool_briefly(a.pool, &p, &err) < 0)
		return err_exit(&err);
	if (a.file)
		return imgadm_import_file(p, a.file, a.quiet);
	if (image_get(p, a.uuid, &have, &err) == 0) {
		printf("Image %s is already installed, skipping\n", a.uuid);
		return EXIT_OK;
	}
	zh_error_clear(&err);
	bar = bar && !a.quiet;
	f = (struct image_fetch){
		.limits = a.lim, .cancel = &stop_signal, .progress = bar ? progress_bar : NULL};
	catch_stop_signals();
	r = image_source_import(p, a.uuid, &f, &done, &err);
	if (bar)
		fputc('\n', stderr);
	if (r < 0)
		return err_exit(&err);
	if (!a.quiet)
		print_imported(done, a.uuid);
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
