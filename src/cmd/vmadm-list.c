/*
 * vmadm-list.c - `vmadm list` and `vmadm lookup` (vmadm.8, docs/architecture.md §4).
 *
 * Both load every VM once (vmview_load_all), add the fake fields, keep
 * those matching every filter (vmlist.h), then print: list a table,
 * lookup UUIDs or (-j) the objects.
 */
#include <stdbool.h>
#include <string.h>

#include "cmdutil.h"
#include "jsonutil.h"
#include "util.h"
#include "vmadm.h"
#include "vmcfg-access.h"
#include "vmlist.h"
#include "vm-view.h"
#include "vmstore.h"

struct list_opts {
	const char *order;
	const char *sort;
	bool parsable, no_header, force_header;
	bool json, unique;
};

struct filters {
	struct vmlist_filter *f;
	size_t n;
};

static void filters_clear(struct filters *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		vmlist_filter_clear(&fs->f[i]);
	free(fs->f);
	fs->f = NULL;
	fs->n = 0;
}

static int filters_parse(int argc, char **argv, struct filters *fs)
{
	struct zh_error err = ZH_ERROR_INIT;

	fs->f = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*fs->f));
	if (!fs->f)
		return cmd_die(EXIT_ERR, "out of memory");
	for (int i = 0; i < argc; i++) {
		if (vmlist_filter_parse(argv[i], &fs->f[fs->n], &err) < 0) {
			int r = cmd_die(EXIT_USAGE, "%s", err.msg);

			zh_error_clear(&err);
			return r;
		}
		fs->n++;
	}
	return 0;
}

/* Every VM (with fake fields) matching all filters, as a new array. */
static int select_vms(const struct filters *fs, json_t **out)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *all = NULL;
	json_t *sel, *vm;
	size_t i;

	if (vmview_load_all(&all, &err) < 0)
		return cmd_fail(&err);
	sel = json_array();
	if (!sel)
		return cmd_die(EXIT_ERR, "out of memory");
	json_array_foreach (all, i, vm) {
		if (vmlist_add_fake_fields(vm) < 0 ||
		    (vmlist_filters_match(fs->f, fs->n, vm) && json_array_append(sel, vm) < 0)) {
			json_decref(sel);
			return cmd_die(EXIT_ERR, "out of memory");
		}
	}
	*out = sel;
	return 0;
}

static int on_list_opt(void *ctx, int c, const char *arg)
{
	struct list_opts *o = ctx;

	switch (c) {
	case 'p': o->parsable = true; break;
	case 'H': o->no_header = true; break;
	case 'h': o->force_header = true; break;
	case 'o': o->order = arg; break;
	case 's': o->sort = arg; break;
	case 'j': o->json = true; break;
	case '1': o->unique = true; break;
	}
	return 0;
}

static enum vmlist_format list_format(const struct list_opts *o)
{
	if (o->parsable)
		return VMLIST_PARSABLE;
	if (o->no_header && !o->force_header)
		return VMLIST_NO_HEADER;
	return VMLIST_HEADER;
}

static int sort_vms(json_t *vms, const char *spec)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct vmlist_sort *s = NULL;
	size_t n = 0;
	int r;

	if (vmlist_sort_parse(spec, &s, &n, &err) < 0) {
		r = cmd_die(EXIT_USAGE, "%s", err.msg);
		zh_error_clear(&err);
		return r;
	}
	r = vmlist_sort(vms, s, n);
	vmlist_sort_free(s, n);
	return r < 0 ? cmd_die(EXIT_ERR, "out of memory") : 0;
}

static int print_list(const json_t *vms, const struct list_opts *o, char *const *cols)
{
	enum vmlist_format fmt = list_format(o);

	if (fmt == VMLIST_PARSABLE && o->force_header) {
		_cleanup_free_ char *h = vmlist_format_line(NULL, cols, VMLIST_HEADER);

		if (h)
			printf("%s\n", h);
	}
	if (vmlist_print(stdout, vms, cols, fmt) < 0)
		return cmd_die(EXIT_ERR, "out of memory");
	return EXIT_OK;
}

int cmd_list(int argc, char **argv)
{
	struct list_opts o = {"uuid,type,ram,state,alias", "ram,uuid"};
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_strv_ char **cols = NULL;
	_cleanup_json_ json_t *vms = NULL;
	struct filters fs = {0};
	int r;

	if ((r = vmadm_getopt(argc, argv, "pHho:s:", on_list_opt, &o)) != 0)
		return r;
	if (vmlist_columns_parse(o.order, &cols, &err) < 0) {
		r = cmd_die(EXIT_USAGE, "%s", err.msg);
		zh_error_clear(&err);
		return r;
	}
	r = filters_parse(argc - optind, argv + optind, &fs);
	if (r == 0)
		r = select_vms(&fs, &vms);
	filters_clear(&fs);
	if (r == 0)
		r = sort_vms(vms, o.sort);
	if (r == 0)
		r = print_list(vms, &o, cols);
	return r;
}

/* ---- lookup ---- */

/* The members named in cols (flattened keys allowed) of vm. */
static json_t *restrict_fields(const json_t *vm, char *const *cols)
{
	json_t *o = json_object();

	for (size_t i = 0; o && cols[i]; i++) {
		const json_t *v = vmlist_lookup(vm, cols[i]);

		if (v && json_object_set(o, cols[i], (json_t *)v) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static int print_lookup_json(const json_t *vms, char *const *cols)
{
	_cleanup_json_ json_t *out = json_array();
	size_t i;
	json_t *vm;

	if (!out)
		return cmd_die(EXIT_ERR, "out of memory");
	json_array_foreach (vms, i, vm) {
		json_t *e = cols ? restrict_fields(vm, cols) : json_incref(vm);

		if (!e || json_array_append_new(out, e) < 0)
			return cmd_die(EXIT_ERR, "out of memory");
	}
	cmd_print_json(out);
	return EXIT_OK;
}

static int print_lookup(const json_t *vms, const struct list_opts *o, char *const *cols)
{
	size_t i;
	json_t *vm;

	if (o->unique && json_array_size(vms) != 1)
		return cmd_die(EXIT_ERR, "Requested unique lookup but found %zu results.",
			       json_array_size(vms));
	if (o->json)
		return print_lookup_json(vms, cols);
	json_array_foreach (vms, i, vm)
		printf("%s\n", vmcfg_uuid(vm));
	return EXIT_OK;
}

int cmd_lookup(int argc, char **argv)
{
	struct list_opts o = {0};
	_cleanup_strv_ char **cols = NULL;
	_cleanup_json_ json_t *vms = NULL;
	struct filters fs = {0};
	int r;

	if ((r = vmadm_getopt(argc, argv, "j1o:", on_list_opt, &o)) != 0)
		return r;
	if (o.order && !o.json)
		return vmadm_usage_error("Cannot specify -o without -j");
	if (o.order && !(cols = util_split(o.order, ',')))
		return cmd_die(EXIT_ERR, "out of memory");
	r = filters_parse(argc - optind, argv + optind, &fs);
	if (r == 0)
		r = select_vms(&fs, &vms);
	filters_clear(&fs);
	if (r == 0)
		r = sort_vms(vms, "create_timestamp,uuid");
	if (r == 0)
		r = print_lookup(vms, &o, cols);
	return r;
}
