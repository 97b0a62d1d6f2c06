/*
 * imgadm.c - manage zone images (SmartOS imgadm; imgadm.8).
 *
 * A thin main: parses arguments, calls the image store (src/lib/image/image.h),
 * prints, and maps errors to exit codes: 0 ok, 1 error, 2 usage,
 * 3 image not installed.  Errors print as SmartOS's do:
 *     imgadm: error (ImageNotInstalled): image "<uuid>" was not found on zpool "zones"
 *
 *     imgadm install [-P pool] [-q] -m MANIFEST -f FILE
 *     imgadm list [-j] [-H] [-o field,...] [-s field,...] [--docker] [FIELD=VALUE ...]
 *     imgadm get [-P pool] UUID
 *     imgadm delete [-P pool] UUID          (alias: destroy)
 *     imgadm create [-i] [-m MANIFEST|-] [-o DIR] [-c COMPRESSION] [-q] VM_UUID [FIELD=VALUE ...]
 *                                           (imgadm-create.c)
 *     imgadm sources [-v | -c | -a URL [LIMITS] | -d URL]   (imgadm-source.c)
 *     imgadm avail [-j] [-H] [-o field,...] [LIMITS]
 *     imgadm import [-P pool] [-q] [LIMITS] UUID
 *     imgadm import [-P pool] [-q] -f FILE.tar    (imgadm-docker.c)
 *     imgadm vacuum [-n]
 *
 * install and delete hold the host lock (lock.h); so does any command that
 * may create the default pool.  import takes it only to install what it
 * has already downloaded and verified (image_source_import()).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmdutil.h"
#include "image.h"
#include "imgadm.h"
#include "jsonutil.h"
#include "lock.h"
#include "pool.h"
#include "util.h"

#define EXIT_NOT_INSTALLED 3
#define DEFAULT_COLUMNS	   "uuid,name,version,os,type,pub"
#define DEFAULT_SORT	   "published_at,name"
#define DOCKER_COLUMNS	   "uuid,docker_repo,docker_tags,docker_short_id,pub"

const char *program_name = "imgadm";

static const char usage_text[] =
	"Usage:\n"
	"    imgadm help\n"
	"    imgadm list [-j] [-H] [-o field,...] [-s field,...] [--docker] [FIELD=VALUE ...]\n"
	"    imgadm get [-P pool] UUID\n"
	"    imgadm install [-P pool] [-q] -m MANIFEST -f FILE\n"
	"    imgadm delete [-P pool] UUID     (alias: destroy)\n"
	"    imgadm create [-i] [-m MANIFEST|-] [-o OUTPUT_DIR] [-c none|gzip|bzip2|xz|zstd] [-q]\n"
	"                  VM_UUID [FIELD=VALUE ...]\n"
	"    imgadm sources [-v | -c | -a URL [LIMITS] | -d URL]\n"
	"    imgadm avail [-j] [-H] [-o field,...] [LIMITS]\n"
	"    imgadm import [-P pool] [-q] [LIMITS] UUID\n"
	"    imgadm import [-P pool] [-q] -f FILE.tar   (docker save or OCI layout)\n"
	"    imgadm vacuum [-n]\n"
	"LIMITS: [--speed-limit BYTES] [--speed-time SECONDS] [--max-time SECONDS]\n";

static int fail_code(struct zh_error *err, const char *code, int exit_code)
{
	if (code)
		fprintf(stderr, "imgadm: error (%s): %s\n", code, err->msg);
	else
		fprintf(stderr, "imgadm: error: %s\n", err->msg);
	zh_error_clear(err);
	return exit_code;
}

static int fail(struct zh_error *err)
{
	if (err->errnum == ENOENT && err->prop && streq(err->prop, "uuid"))
		return fail_code(err, "ImageNotInstalled", EXIT_NOT_INSTALLED);
	if (err->errnum == ENOENT && err->prop && streq(err->prop, "origin"))
		return fail_code(err, "OriginNotInstalled", EXIT_ERR);
	if (err->errnum == EBUSY)
		return fail_code(err, "ImageHasDependentClones", EXIT_ERR);
	return fail_code(err, NULL, EXIT_ERR);
}

static int usage_error(const char *fmt, ...) _printf_(1, 2);
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "imgadm: error (Usage): ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage_text);
	return EXIT_USAGE;
}

/* ---- pools ---- */

int imgadm_open_pool(const char *name, struct pool **out, struct zh_error *err)
{
	if (!name)
		return pool_open_default(out, err);
	if (!pool_name_valid(name))
		return zh_error_set(err, EINVAL, "-P", "-P %s: invalid pool name", name);
	return pool_open(name, out, err);
}

/* Host lock, then the pool (creating the default pool if there is none). */
static int lock_and_open(const char *name, int *lock, struct pool **out, struct zh_error *err)
{
	*lock = lock_host(err);
	if (*lock < 0)
		return *lock;
	return imgadm_open_pool(name, out, err);
}

/* ---- install ---- */

struct install_args {
	const char *pool, *manifest, *file;
	bool quiet;
};

static int parse_install(int argc, char **argv, struct install_args *a)
{
	int c;

	while ((c = getopt(argc, argv, "+P:qm:f:h")) != -1) {
		switch (c) {
		case 'P': a->pool = optarg; break;
		case 'q': a->quiet = true; break;
		case 'm': a->manifest = optarg; break;
		case 'f': a->file = optarg; break;
		case 'h': fputs(usage_text, stdout); return -1;
		default: return usage_error("%s", "bad option for install");
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument: \"%s\"", argv[optind]);
	if (!a->manifest)
		return usage_error("%s", "install needs -m MANIFEST");
	if (!a->file)
		return usage_error("%s", "install needs -f FILE");
	return 0;
}

static int cmd_install(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct install_args a = {0};
	_cleanup_json_ json_t *m = NULL;
	_cleanup_json_ json_t *have = NULL;
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_close_ int lock = -EBADF;
	const char *uuid;
	int r = parse_install(argc, argv, &a);

	if (r != 0)
		return r < 0 ? EXIT_OK : r;
	if (image_manifest_load(a.manifest, &m, &err) < 0 ||
	    lock_and_open(a.pool, &lock, &p, &err) < 0)
		return fail(&err);
	uuid = jsonutil_str(m, "uuid");
	if (image_get(p, uuid, &have, &err) == 0) {
		printf("Image %s (%s@%s) is already installed, skipping\n", uuid,
		       jsonutil_str(m, "name"), jsonutil_str(m, "version"));
		return EXIT_OK;
	}
	zh_error_clear(&err);
	if (image_install_manifest(p, m, a.file, NULL, &err) < 0)
		return fail(&err);
	if (!a.quiet)
		printf("Installed image %s (%s@%s)\n", uuid, jsonutil_str(m, "name"),
		       jsonutil_str(m, "version"));
	return EXIT_OK;
}

/* ---- get / delete ---- */

static int parse_pool_uuid(int argc, char **argv, const char **pool, const char **uuid)
{
	int c;

	while ((c = getopt(argc, argv, "+P:h")) != -1) {
		switch (c) {
		case 'P': *pool = optarg; break;
		case 'h': fputs(usage_text, stdout); return -1;
		default: return usage_error("%s", "bad option");
		}
	}
	if (optind != argc - 1)
		return usage_error("%s", "exactly one image UUID is needed");
	*uuid = argv[optind];
	if (!util_is_uuid(*uuid))
		return usage_error("invalid image uuid: \"%s\"", *uuid);
	return 0;
}

static int cmd_get(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *info = NULL;
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_close_ int lock = -EBADF;
	const char *pool = NULL, *uuid = NULL;
	int r = parse_pool_uuid(argc, argv, &pool, &uuid);

	if (r != 0)
		return r < 0 ? EXIT_OK : r;
	if (lock_and_open(pool, &lock, &p, &err) < 0)
		return fail(&err);
	closep(&lock);
	if (image_get(p, uuid, &info, &err) < 0)
		return fail(&err);
	cmd_print_json(info);
	return EXIT_OK;
}

static int cmd_delete(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_close_ int lock = -EBADF;
	const char *pool = NULL, *uuid = NULL;
	int r = parse_pool_uuid(argc, argv, &pool, &uuid);

	if (r != 0)
		return r < 0 ? EXIT_OK : r;
	if (lock_and_open(pool, &lock, &p, &err) < 0 || image_delete(p, uuid, &err) < 0)
		return fail(&err);
	printf("Deleted image %s\n", uuid);
	return EXIT_OK;
}

/* ---- list ---- */

struct list_args {
	bool json, no_header, docker; /* --docker: type=docker, the docker columns */
	const char *columns, *sort;
	char **filters;
	int nfilters;
};

/* The docker tags "docker:tag:<tag>": true of a manifest, as "tag1,tag2". */
static json_t *docker_tags(const json_t *tags)
{
	_cleanup_free_ char *s = strdup("");
	const char *k;
	json_t *v;

	json_object_foreach ((json_t *)tags, k, v) {
		char *n = NULL;

		if (strncmp(k, "docker:tag:", 11) != 0 || !json_is_true(v))
			continue;
		if (!s || asprintf(&n, "%s%s%s", s, *s ? "," : "", k + 11) < 0)
			return NULL;
		free(s);
		s = n;
	}
	return s && *s ? json_string(s) : NULL;
}

/* docker_id, docker_short_id, docker_repo, docker_tags (SmartOS imgadm list --docker). */
static json_t *docker_value(const json_t *m, const char *f)
{
	const json_t *tags = json_object_get(m, "tags");
	const char *id = jsonutil_str(tags, "docker:id");

	if (streq(f, "docker_id"))
		return id ? json_string(id) : NULL;
	if (streq(f, "docker_short_id"))
		return id && strlen(id) >= 7 + 12 ? json_stringn(id + 7, 12) : NULL;
	if (streq(f, "docker_repo"))
		return json_incref(json_object_get(tags, "docker:repo"));
	return docker_tags(tags);
}

/* The value of a list field: a computed one, else the manifest's (new reference or NULL). */
static json_t *field_value(const json_t *rec, const char *f)
{
	const json_t *m = json_object_get(rec, "manifest");
	const char *pub = jsonutil_str(m, "published_at");

	if (strncmp(f, "docker_", 7) == 0)
		return docker_value(m, f);
	if (streq(f, "pub") || streq(f, "published_date"))
		return pub && strlen(pub) >= 10 ? json_stringn(pub, 10) : NULL;
	if (streq(f, "published"))
		return pub && strlen(pub) >= 19 ? json_sprintf("%.19sZ", pub) : NULL;
	if (streq(f, "clones") || streq(f, "zpool") || streq(f, "source"))
		return json_incref(json_object_get(rec, f));
	if (streq(f, "size"))
		return json_incref(
			json_object_get(json_array_get(json_object_get(m, "files"), 0), "size"));
	return json_incref(json_object_get(m, f));
}

/* Display text of a field; "-" when absent. */
static char *field_text(const json_t *rec, const char *f)
{
	_cleanup_json_ json_t *v = field_value(rec, f);

	if (!v || json_is_null(v))
		return strdup("-");
	if (json_is_string(v))
		return strdup(json_string_value(v));
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static bool filter_match(const json_t *rec, const char *filter)
{
	const char *eq = strchr(filter, '=');
	_cleanup_free_ char *key = eq ? strndup(filter, (size_t)(eq - filter)) : NULL;
	_cleanup_free_ char *val = NULL;

	if (!key || !(val = field_text(rec, key)))
		return false;
	if (eq[1] == '~')
		return strstr(val, eq + 2) != NULL;
	return streq(val, eq + 1);
}

static const char *const *sort_keys;
static const char default_columns[] = DEFAULT_COLUMNS;

static int cmp_field(const json_t *a, const json_t *b, const char *f)
{
	_cleanup_json_ json_t *x = field_value(a, f);
	_cleanup_json_ json_t *y = field_value(b, f);
	_cleanup_free_ char *sx = NULL, *sy = NULL;

	if (json_is_number(x) && json_is_number(y)) {
		double d = json_number_value(x) - json_number_value(y);

		return d < 0 ? -1 : d > 0;
	}
	sx = field_text(a, f);
	sy = field_text(b, f);
	return sx && sy ? strcmp(sx, sy) : 0;
}

static int cmp_rows(const void *pa, const void *pb)
{
	const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;

	for (const char *const *k = sort_keys; *k; k++) {
		bool desc = (*k)[0] == '-';
		int c = cmp_field(a, b, *k + desc);

		if (c)
			return desc ? -c : c;
	}
	return 0;
}

static int parse_list(int argc, char **argv, struct list_args *a)
{
	static const struct option opts[] = {{"docker", no_argument, NULL, 'D'}, {0}};
	int c;

	while ((c = getopt_long(argc, argv, "jHo:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'D': a->docker = true; break;
		case 'j': a->json = true; break;
		case 'H': a->no_header = true; break;
		case 'o': a->columns = optarg; break;
		case 's': a->sort = optarg; break;
		case 'h': fputs(usage_text, stdout); return -1;
		default: return usage_error("%s", "bad option for list");
		}
	}
	a->filters = argv + optind;
	a->nfilters = argc - optind;
	for (int i = 0; i < a->nfilters; i++)
		if (!strchr(a->filters[i], '=') || a->filters[i][0] == '=')
			return usage_error("invalid filter: \"%s\" (FIELD=VALUE)", a->filters[i]);
	if (a->docker && a->columns == default_columns)
		a->columns = DOCKER_COLUMNS;
	return 0;
}

static const char *mfield_type(const json_t *rec)
{
	const char *t = jsonutil_str(json_object_get(rec, "manifest"), "type");

	return t ? t : "";
}

/* Every installed image of every pool, filtered. */
static int collect(const struct list_args *a, json_t *out, struct zh_error *err)
{
	_cleanup_strv_ char **names = NULL;
	int r = pool_list(&names, err);

	for (size_t i = 0; r == 0 && names[i]; i++) {
		_cleanup_pool_ struct pool *p = NULL;
		_cleanup_json_ json_t *imgs = NULL;
		json_t *rec;
		size_t k;

		r = pool_open(names[i], &p, err);
		if (r == 0)
			r = image_list(p, &imgs, err);
		json_array_foreach (imgs, k, rec) {
			bool keep = !a->docker || streq(mfield_type(rec), "docker");

			for (int f = 0; keep && f < a->nfilters; f++)
				keep = filter_match(rec, a->filters[f]);
			if (keep && json_array_append(out, rec) < 0)
				return zh_error_oom(err);
		}
	}
	return r;
}

static int sort_rows(json_t *rows, const char *spec)
{
	_cleanup_strv_ char **keys = util_split(spec, ',');
	size_t n = json_array_size(rows);
	_cleanup_free_ json_t **v = calloc(n + 1, sizeof(*v));

	if (!keys || !v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(rows, i));
	sort_keys = (const char *const *)keys;
	qsort(v, n, sizeof(*v), cmp_rows);
	json_array_clear(rows);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(rows, v[i]);
	return 0;
}

static void print_cell(const char *s, size_t width, bool last)
{
	if (last)
		printf("%s\n", s);
	else
		printf("%-*s  ", (int)width, s);
}

static int print_table(const json_t *rows, const char *columns, bool header)
{
	_cleanup_strv_ char **cols = util_split(columns, ',');
	size_t ncol = util_strv_len(cols), nrow = json_array_size(rows);
	_cleanup_free_ size_t *w = calloc(ncol + 1, sizeof(*w));
	_cleanup_free_ char **cells = calloc(ncol * nrow + 1, sizeof(char *));

	if (!cols || !w || !cells || ncol == 0)
		return -ENOMEM;
	for (size_t c = 0; c < ncol; c++) {
		w[c] = header ? strlen(cols[c]) : 0;
		for (size_t r = 0; r < nrow; r++) {
			char *t = field_text(json_array_get(rows, r), cols[c]);

			cells[r * ncol + c] = t;
			if (t && strlen(t) > w[c])
				w[c] = strlen(t);
		}
	}
	for (size_t c = 0; header && c < ncol; c++) {
		for (char *s = cols[c]; *s; s++)
			*s = (char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s);
		print_cell(cols[c], w[c], c + 1 == ncol);
	}
	for (size_t i = 0; i < nrow * ncol; i++) {
		print_cell(cells[i] ? cells[i] : "-", w[i % ncol], i % ncol + 1 == ncol);
		free(cells[i]);
	}
	return 0;
}

int imgadm_print_table(const json_t *rows, const char *columns, bool header)
{
	return print_table(rows, columns, header);
}

static int cmd_list(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct list_args a = {.columns = default_columns, .sort = DEFAULT_SORT};
	_cleanup_json_ json_t *rows = json_array();
	int r = parse_list(argc, argv, &a);

	if (r != 0)
		return r < 0 ? EXIT_OK : r;
	if (!rows)
		return cmd_die(EXIT_ERR, "imgadm: error: out of memory");
	if (collect(&a, rows, &err) < 0)
		return fail(&err);
	if (sort_rows(rows, a.sort) < 0)
		return cmd_die(EXIT_ERR, "imgadm: error: out of memory");
	if (a.json)
		cmd_print_json(rows);
	else if (print_table(rows, a.columns, !a.no_header) < 0)
		return cmd_die(EXIT_ERR, "imgadm: error: out of memory");
	return EXIT_OK;
}

/* ---- main ---- */

static int cmd_help(int argc, char **argv)
{
	fputs(usage_text, stdout);
	return EXIT_OK;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{"install", cmd_install}, {"list", cmd_list},	     {"get", cmd_get},
	{"info", cmd_get},	  {"delete", cmd_delete},    {"destroy", cmd_delete},
	{"help", cmd_help},	  {"create", imgadm_create}, {"sources", imgadm_sources},
	{"avail", imgadm_avail},  {"import", imgadm_import}, {"vacuum", imgadm_vacuum},
};

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("%s", "no command given");
	if (streq(argv[1], "help") || streq(argv[1], "-h") || streq(argv[1], "--help"))
		return cmd_help(argc - 1, argv + 1);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!streq(argv[1], commands[i].name))
			continue;
		int r = cmd_require_root();

		if (r != 0)
			return r;
		return commands[i].fn(argc - 1, argv + 1);
	}
	return usage_error("unknown command \"%s\"", argv[1]);
}
