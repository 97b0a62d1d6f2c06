/*
 * zonehost - host-level administration: the storage pool and sysinfo.
 *
 *     zonehost pool create [--name N] [--size SIZE] [--device DEV | --mount DIR]
 *     zonehost pool status [-j] [NAME]
 *     zonehost pool destroy [--force] [NAME]
 *     zonehost pool mount-all
 *     zonehost sysinfo
 *     zonehost autoboot      (at host boot: bring up the nic tags' bridges,
 *                             then start every VM with autoboot=true)
 *     zonehost help
 *
 * A thin main (docs/architecture.md §3): parse, call pool.* / sysinfo.*, print.  Data
 * goes to stdout, messages to stderr; exit 0 ok, 1 error, 2 usage.
 * Pool create and destroy run under the host lock (lock.h).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmdutil.h"
#include "fsutil.h"
#include "jsonutil.h"
#include "lock.h"
#include "net.h"
#include "paths.h"
#include "pool.h"
#include "runstate.h"
#include "sysinfo.h"
#include "util.h"
#include "vm-view.h"
#include "vm.h"
#include "vmcfg-access.h"
#include "vmstore.h"

const char *program_name = "zonehost";

static const char usage_text[] =
	"Usage: zonehost <command> [options]\n"
	"\n"
	"  pool create [--name NAME] [--size SIZE] [--device DEV | --mount DIR]\n"
	"  pool status [-j] [NAME]\n"
	"  pool destroy [--force] [NAME]\n"
	"  pool mount-all\n"
	"  sysinfo\n"
	"  autoboot\n"
	"  help\n";

static int usage_plain(void)
{
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

static _printf_(1, 2) int usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return usage_plain();
}

/* Library errors that name an argument are shown as "--<arg>: <msg>". */
static int fail_arg(struct zh_error *err)
{
	if (err->prop) {
		fprintf(stderr, "--%s: %s\n", err->prop, err->msg);
		zh_error_clear(err);
		return EXIT_ERR;
	}
	return cmd_fail(err);
}

/* ---- pool create ---- */

static int parse_create(int argc, char **argv, struct pool_create_opts *o, const char **size_arg)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'n'},
		{"size", required_argument, NULL, 's'},
		{"device", required_argument, NULL, 'd'},
		{"mount", required_argument, NULL, 'm'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "+n:s:d:m:", opts, NULL)) != -1) {
		if (c == 'n')
			o->name = optarg;
		else if (c == 's')
			*size_arg = optarg;
		else if ((c == 'd' || c == 'm') && o->source)
			return usage("--device and --mount exclude each other");
		else if (c == 'd' || c == 'm') {
			o->backing = c == 'd' ? POOL_BACKING_DEVICE : POOL_BACKING_MOUNT;
			o->source = optarg;
		} else
			return usage_plain();
	}
	if (optind < argc)
		return usage("unexpected argument \"%s\"", argv[optind]);
	if (*size_arg && o->backing != POOL_BACKING_FILE)
		return usage("--size applies only to a file-backed pool");
	return 0;
}

static int cmd_pool_create(int argc, char **argv)
{
	struct pool_create_opts o = {.backing = POOL_BACKING_FILE};
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_close_ int lk = -EBADF;
	const char *size_arg = NULL;
	int r = parse_create(argc, argv, &o, &size_arg);

	if (r)
		return r;
	if (size_arg && (util_parse_size(size_arg, &o.size) < 0 || o.size == 0))
		return cmd_die(EXIT_ERR, "--size: \"%s\" is not a size (use e.g. 512M, 20G)",
			       size_arg);
	if ((lk = lock_host(&err)) < 0)
		return cmd_fail(&err);
	if (pool_create(&o, &p, &err) < 0)
		return fail_arg(&err);
	fprintf(stderr, "Created pool \"%s\" at %s (%s %s)\n", p->name, p->mountpoint,
		pool_backing_name(p->backing), p->source);
	return EXIT_OK;
}

/* ---- pool status ---- */

static int status_one(const char *name, json_t **out)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_pool_ struct pool *p = NULL;

	if (pool_open(name, &p, &err) < 0 || pool_status(p, out, &err) < 0)
		return cmd_fail(&err);
	return 0;
}

static void print_size(uint64_t v)
{
	static const char units[] = "BKMGTP";
	double d = (double)v;
	int u = 0;

	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	printf(u ? " %8.1f%c" : " %9.0f%c", d, units[u]);
}

static void print_table(json_t *arr)
{
	size_t i;
	json_t *s;

	printf("%-16s %9s %9s %9s %-7s %s\n", "NAME", "SIZE", "USED", "FREE", "BACKING", "SOURCE");
	json_array_foreach (arr, i, s) {
		printf("%-16s", jsonutil_str(s, "name"));
		print_size((uint64_t)json_integer_value(json_object_get(s, "size")));
		print_size((uint64_t)json_integer_value(json_object_get(s, "used")));
		print_size((uint64_t)json_integer_value(json_object_get(s, "free")));
		printf(" %-7s %s\n", jsonutil_str(s, "backing"), jsonutil_str(s, "source"));
	}
}

static int status_all(json_t *arr)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_strv_ char **names = NULL;
	int r = 0;

	if (pool_list(&names, &err) < 0)
		return cmd_fail(&err);
	for (char **n = names; *n; n++) {
		json_t *s = NULL;
		int q = status_one(*n, &s);

		if (q)
			r = q;
		else
			json_array_append_new(arr, s);
	}
	return r;
}

static int cmd_pool_status(int argc, char **argv)
{
	_cleanup_json_ json_t *arr = json_array();
	bool as_json = false;
	int c, r;

	while ((c = getopt(argc, argv, "+j")) != -1) {
		if (c != 'j')
			return usage_plain();
		as_json = true;
	}
	if (argc - optind > 1)
		return usage("unexpected argument \"%s\"", argv[optind + 1]);
	if (!arr)
		return cmd_die(EXIT_ERR, "out of memory");
	if (optind < argc) {
		json_t *s = NULL;

		if ((r = status_one(argv[optind], &s)))
			return r;
		if (as_json) {
			cmd_print_json(s);
			json_decref(s);
			return EXIT_OK;
		}
		json_array_append_new(arr, s);
	} else {
		r = status_all(arr);
	}
	if (as_json)
		cmd_print_json(arr);
	else
		print_table(arr);
	return optind < argc ? EXIT_OK : r;
}

/* ---- pool destroy ---- */

struct holdings {
	unsigned images, vms, other;
};

/* Images: datasets with .imgadm/<name>.json; VMs: with .vmadm/<name>.json. */
static int count_holdings(const struct pool *p, struct holdings *h)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_strv_ char **names = NULL;

	if (pool_dataset_list(p, &names, &err) < 0)
		return cmd_fail(&err);
	for (char **n = names; *n; n++) {
		_cleanup_free_ char *rec = NULL, *cfg = NULL;

		if (strchr(*n, '@'))
			continue; /* snapshots go with their dataset */
		if (!(rec = paths_image_record(p->mountpoint, *n)))
			return cmd_die(EXIT_ERR, "out of memory");
		if (fsutil_exists(rec))
			h->images++;
		else if ((cfg = vmstore_config_path(p, *n)) && fsutil_exists(cfg))
			h->vms++;
		else
			h->other++;
	}
	return 0;
}

static const char *plural(unsigned n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static int refuse_destroy(const struct pool *p, const struct holdings *h)
{
	char parts[3][64];
	int n = 0;

	if (h->images)
		snprintf(parts[n++], 64, "%u %s", h->images, plural(h->images, "image", "images"));
	if (h->vms)
		snprintf(parts[n++], 64, "%u %s", h->vms, plural(h->vms, "VM", "VMs"));
	if (h->other)
		snprintf(parts[n++], 64, "%u other %s", h->other,
			 plural(h->other, "dataset", "datasets"));
	fprintf(stderr, "pool \"%s\" holds ", p->name);
	for (int i = 0; i < n; i++)
		fprintf(stderr, "%s%s", parts[i], i + 2 == n ? " and " : i + 1 == n ? "" : ", ");
	fputs("; use --force to destroy them\n", stderr);
	return EXIT_ERR;
}

static int open_for_destroy(const char *name, bool force, struct pool **p)
{
	struct zh_error err = ZH_ERROR_INIT;
	int r = pool_open(name, p, &err);

	if (r == 0)
		return 0;
	if (r == -ENOENT || !force)
		return cmd_fail(&err);
	/* --force: a pool that no longer mounts is still removed. */
	zh_error_clear(&err);
	if (pool_load(name, p, &err) < 0)
		return cmd_fail(&err);
	return 0;
}

/* --force: running zones of the pool are stopped (-F) before it goes. */
static int stop_zones(const struct pool *p)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *vms = NULL;
	size_t i;
	json_t *vm;

	if (vmstore_load_pool(p, &vms, &err) < 0)
		return cmd_fail(&err);
	json_array_foreach (vms, i, vm) {
		const char *uuid = vmcfg_uuid(vm);

		if (!uuid || !runstate_is_live(uuid))
			continue;
		if (vm_stop(uuid, 0, true, &err) < 0 && err.errnum != ENOTCONN)
			return cmd_fail(&err);
		zh_error_clear(&err);
	}
	return 0;
}

static int cmd_pool_destroy(int argc, char **argv)
{
	static const struct option opts[] = {
		{"force", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_close_ int lk = -EBADF;
	struct holdings h = {0};
	bool force = false;
	const char *name;
	int c, r;

	while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		if (c != 'f')
			return usage_plain();
		force = true;
	}
	if (argc - optind > 1)
		return usage("unexpected argument \"%s\"", argv[optind + 1]);
	name = optind < argc ? argv[optind] : POOL_DEFAULT_NAME;
	if ((lk = lock_host(&err)) < 0)
		return cmd_fail(&err);
	if ((r = open_for_destroy(name, force, &p)))
		return r;
	if (!force && (r = count_holdings(p, &h)))
		return r;
	if (h.images || h.vms || h.other)
		return refuse_destroy(p, &h);
	if (force && pool_is_mounted(p) && (r = stop_zones(p)))
		return r;
	if (pool_destroy(p, force, &err) < 0)
		return cmd_fail(&err);
	return EXIT_OK;
}

/* ---- pool mount-all, sysinfo, dispatch ---- */

static int cmd_pool_mount_all(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;

	if (argc > 1)
		return usage("unexpected argument \"%s\"", argv[1]);
	if (pool_mount_all(&err) < 0)
		return cmd_fail(&err);
	return EXIT_OK;
}

static int cmd_sysinfo(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *si = NULL;

	if (argc > 1)
		return usage("unexpected argument \"%s\"", argv[1]);
	if (sysinfo_collect(&si, &err) < 0)
		return cmd_fail(&err);
	cmd_print_json(si);
	return EXIT_OK;
}

/* ---- autoboot ---- */

static int start_one(const json_t *vm)
{
	struct zh_error err = ZH_ERROR_INIT;
	const char *uuid = vmcfg_uuid(vm);
	const char *state = jsonutil_str(vm, "state");

	if (!uuid || !vmcfg_autoboot(vm) || (state && streq(state, "running")))
		return 0;
	if (vm_start(uuid, &err) < 0 && err.errnum != EALREADY) {
		fprintf(stderr, "Failed to start VM %s: %s\n", uuid, err.msg);
		zh_error_clear(&err);
		return -1;
	}
	zh_error_clear(&err);
	fprintf(stderr, "Successfully started VM %s\n", uuid);
	return 0;
}

/*
 * `zonehost autoboot` (at host boot): re-create the recorded nic tags'
 * bridges (net_nictags_ensure), then start every VM with autoboot=true.
 */
static int cmd_autoboot(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *vms = NULL;
	int failed = 0;
	size_t i;
	json_t *vm;

	if (argc > 1)
		return usage("unexpected argument \"%s\"", argv[1]);
	if (net_nictags_ensure(&err) < 0) { /* bridges first: zones' VNICs join them */
		fprintf(stderr, "Failed to bring up nic tags: %s\n", err.msg);
		zh_error_clear(&err);
		failed++;
	}
	if (vmview_load_all(&vms, &err) < 0)
		return cmd_fail(&err);
	json_array_foreach (vms, i, vm)
		failed += start_one(vm) < 0;
	return failed ? EXIT_ERR : EXIT_OK;
}

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct command pool_cmds[] = {
	{"create", cmd_pool_create},
	{"status", cmd_pool_status},
	{"destroy", cmd_pool_destroy},
	{"mount-all", cmd_pool_mount_all},
};

static int dispatch(const struct command *t, size_t n, int argc, char **argv, const char *what)
{
	if (argc < 1)
		return usage("missing %s command", what);
	for (size_t i = 0; i < n; i++) {
		if (streq(argv[0], t[i].name)) {
			int r = cmd_require_root();

			optind = 0; /* reset getopt for the subcommand's argv */
			return r ? r : t[i].fn(argc, argv);
		}
	}
	return usage("unknown command \"%s\"", argv[0]);
}

static int cmd_pool(int argc, char **argv)
{
	return dispatch(pool_cmds, ARRAY_SIZE(pool_cmds), argc - 1, argv + 1, "pool");
}

static int cmd_help(int argc, char **argv)
{
	fputs(usage_text, stdout);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct command top[] = {
		{"sysinfo", cmd_sysinfo},
		{"autoboot", cmd_autoboot},
	};

	if (argc < 2)
		return usage_plain();
	if (streq(argv[1], "help") || streq(argv[1], "--help") || streq(argv[1], "-h"))
		return cmd_help(argc - 1, argv + 1);
	if (streq(argv[1], "pool"))
		return cmd_pool(argc - 1, argv + 1);
	return dispatch(top, ARRAY_SIZE(top), argc - 1, argv + 1, "a");
}
