/*
 * nictagadm - manage nic tags, as SmartOS's nictagadm(1M).
 *
 *     nictagadm add [-l] [-p prop=value,...] TAG [INTERFACE|MAC]
 *     nictagadm update [-p prop=value,...] TAG [INTERFACE|MAC]
 *     nictagadm delete [-f] TAG
 *     nictagadm list [-l | -L] [-p] [-d DELIM] [-H]
 *     nictagadm exists [-l] TAG...
 *     nictagadm vms TAG
 *     nictagadm help
 *
 * A thin main (docs/architecture.md §3): parse, call net_nictag_* (net.h), print.  A
 * nic tag is a Linux bridge of the same name (net-nictag.c).  What needs
 * the VMs (delete's in-use check, vms) is done here: delete takes the host
 * lock, so no `vmadm create` can put a NIC on the tag between the check and
 * the removal.  `-f` skips the check for stopped VMs only: a tag whose
 * bridge carries a running zone's VNICs is never removed.
 * Exit 0 ok, 1 error, 2 usage; every command but help needs root.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmdutil.h"
#include "jsonutil.h"
#include "lock.h"
#include "net.h"
#include "vm-view.h"
#include "vmcfg-access.h"
#include "vmstore.h"

const char *program_name = "nictagadm";

static const char usage_text[] = "Usage: nictagadm <command> [options]\n"
				 "\n"
				 "  add [-l] [-p prop=value,...] <name> [interface|mac]\n"
				 "  update [-p prop=value,...] <name> [interface|mac]\n"
				 "  delete [-f] <name>\n"
				 "  list [-l | -L] [-p] [-d delim] [-H]\n"
				 "  exists [-l] <name> [name1]...\n"
				 "  vms <name>\n"
				 "  help\n"
				 "\n"
				 "Properties: mac=<MAC of the uplink>, mtu=<1500-9000>\n";

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage(const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fputs("nictagadm: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

static int fail(struct zh_error *err)
{
	fprintf(stderr, "nictagadm: %s\n", err->msg ? err->msg : "unknown error");
	zh_error_clear(err);
	return EXIT_ERR;
}

/* ---- -p prop=value,... ---- */

struct tag_args {
	struct net_nictag t;
	char *mtu_text;
};

static int parse_mtu(const char *v, unsigned *out)
{
	char *end = NULL;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (!*v || *v == '-' || errno || *end || n > 65535)
		return -EINVAL;
	*out = (unsigned)n;
	return 0;
}

static int parse_prop(char *kv, struct tag_args *a)
{
	char *eq = strchr(kv, '=');

	if (!eq)
		return usage("invalid property \"%s\": expected prop=value", kv);
	*eq = '\0';
	if (streq(kv, "mac"))
		a->t.mac = eq + 1;
	else if (streq(kv, "mtu")) {
		if (parse_mtu(eq + 1, &a->t.mtu) < 0)
			return cmd_die(EXIT_ERR, "nictagadm: invalid MTU \"%s\"", eq + 1);
	} else
		return usage("unknown property \"%s\"", kv);
	return 0;
}

static int parse_props(char *list, struct tag_args *a)
{
	char *save = NULL;

	for (char *kv = strtok_r(list, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		int r = parse_prop(kv, a);

		if (r)
			return r;
	}
	return 0;
}

/* TAG [INTERFACE|MAC]: an argument with ':' is a MAC (names have none). */
static int parse_positional(int argc, char **argv, struct tag_args *a)
{
	if (optind >= argc)
		return usage("missing nic tag name");
	if (argc - optind > 2)
		return usage("unexpected argument \"%s\"", argv[optind + 2]);
	a->t.name = argv[optind];
	if (argc - optind == 2) {
		if (strchr(argv[optind + 1], ':'))
			a->t.mac = argv[optind + 1];
		else
			a->t.uplink = argv[optind + 1];
	}
	return 0;
}

/* Options of add/update: -p, -v (ignored), -l when allowed. */
static int parse_tag_args(int argc, char **argv, bool allow_l, bool *local, struct tag_args *a)
{
	int c, r;

	while ((c = getopt(argc, argv, allow_l ? "lp:vh" : "p:vh")) != -1) {
		if (c == 'l')
			*local = true;
		else if (c == 'p' && (r = parse_props(optarg, a)))
			return r;
		else if (c == 'h')
			return usage(NULL);
		else if (c == '?')
			return usage(NULL);
	}
	return parse_positional(argc, argv, a);
}

/* ---- add / update ---- */

static int cmd_add(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct tag_args a = {{0}};
	bool local = false;
	int r = parse_tag_args(argc, argv, true, &local, &a);

	if (r)
		return r;
	if (local && (a.t.mac || a.t.uplink))
		return usage("an etherstub (-l) has no uplink");
	if (!local && !a.t.mac && !a.t.uplink)
		return usage("nic tag \"%s\" needs an uplink (interface or mac); -l makes an "
			     "etherstub",
			     a.t.name);
	if (net_nictag_add(&a.t, &err) < 0)
		return fail(&err);
	return EXIT_OK;
}

static int cmd_update(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct tag_args a = {{0}};
	int r = parse_tag_args(argc, argv, false, NULL, &a);

	if (r)
		return r;
	if (!a.t.mac && !a.t.uplink && !a.t.mtu)
		return usage("nothing to update");
	if (net_nictag_update(&a.t, &err) < 0)
		return fail(&err);
	return EXIT_OK;
}

/* ---- VMs using a tag ---- */

static bool vm_uses_tag(const json_t *vm, const char *tag)
{
	size_t i;
	json_t *nic;

	json_array_foreach (vmcfg_nics(vm), i, nic) {
		const char *t = jsonutil_str(nic, "nic_tag");

		if (t && streq(t, tag))
			return true;
	}
	return false;
}

static bool vm_is_live(const json_t *vm)
{
	const char *st = jsonutil_str(vm, "state");

	return st && !streq(st, "stopped") && !streq(st, "failed");
}

/* Comma-separated uuids of the VMs on tag (live ones only if live_only). */
static int tag_users(const char *tag, bool live_only, char **out, struct zh_error *err)
{
	_cleanup_json_ json_t *vms = NULL;
	char *list = NULL;
	size_t len = 0, i;
	json_t *vm;
	FILE *f;
	int r = vmview_load_all(&vms, err);

	if (r < 0)
		return r;
	f = open_memstream(&list, &len);
	if (!f)
		return zh_error_oom(err);
	json_array_foreach (vms, i, vm)
		if (vm_uses_tag(vm, tag) && (!live_only || vm_is_live(vm)))
			fprintf(f, "%s%s", ftell(f) > 0 ? ", " : "", vmcfg_uuid(vm));
	if (fclose(f) != 0) {
		free(list);
		return zh_error_oom(err);
	}
	*out = list;
	return 0;
}

static int cmd_vms(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *vms = NULL;
	size_t i;
	json_t *vm;

	if (argc != 2)
		return argc < 2 ? usage("missing nic tag name")
				: usage("unexpected argument \"%s\"", argv[2]);
	if (vmview_load_all(&vms, &err) < 0)
		return fail(&err);
	json_array_foreach (vms, i, vm)
		if (vm_uses_tag(vm, argv[1]))
			printf("%s\n", vmcfg_uuid(vm));
	return EXIT_OK;
}

/* ---- delete ---- */

static int delete_checked(const char *tag, bool force, struct zh_error *err)
{
	_cleanup_free_ char *users = NULL;
	int r;

	if (!net_nictag_exists(tag))
		return zh_error_set(err, ENOENT, NULL, "nic tag \"%s\" does not exist", tag);
	r = tag_users(tag, force, &users, err);
	if (r < 0)
		return r;
	if (*users)
		return zh_error_set(err, EBUSY, NULL,
				    "cannot delete nic tag \"%s\": in use by %sVMs: %s", tag,
				    force ? "running " : "", users);
	return net_nictag_delete(tag, err);
}

static int cmd_delete(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_close_ int hl = -EBADF;
	bool force = false;
	int c;

	while ((c = getopt(argc, argv, "fvh")) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'h' || c == '?')
			return usage(NULL);
	}
	if (optind >= argc)
		return usage("missing nic tag name");
	if (argc - optind > 1)
		return usage("unexpected argument \"%s\"", argv[optind + 1]);
	hl = lock_host(&err);
	if (hl < 0 || delete_checked(argv[optind], force, &err) < 0)
		return fail(&err);
	return EXIT_OK;
}

/* ---- exists ---- */

static int cmd_exists(int argc, char **argv)
{
	bool names_only = false;
	int c, missing = 0;

	while ((c = getopt(argc, argv, "lvh")) != -1) {
		if (c == 'l')
			names_only = true;
		else if (c == 'h' || c == '?')
			return usage(NULL);
	}
	if (optind >= argc)
		return usage("missing nic tag name");
	for (int i = optind; i < argc; i++) {
		if (net_nictag_exists(argv[i]))
			continue;
		missing++;
		if (names_only)
			fprintf(stderr, "%s\n", argv[i]);
		else
			fprintf(stderr, "nictagadm: nic tag \"%s\" does not exist\n", argv[i]);
	}
	return missing ? EXIT_ERR : EXIT_OK;
}

/* ---- list ---- */

struct list_opts {
	int stubs; /* 0 all, 1 only etherstubs (-l), -1 none (-L) */
	bool parseable, header;
	const char *delim;
};

/* Field for -p output: the delimiter's first character escaped with '\'. */
static void put_field(const char *s, const struct list_opts *o)
{
	for (const char *p = s; *p; p++) {
		if (o->delim[0] && *p == o->delim[0])
			fputc('\\', stdout);
		fputc(*p, stdout);
	}
}

static void print_row(const char *name, const char *mac, const char *link, const char *type,
		      const struct list_opts *o)
{
	const char *f[4] = {name, mac, link, type};
	char line[256];
	size_t n;

	if (!o->parseable) {
		snprintf(line, sizeof(line), "%-14s %-18s %-14s %-16s", name, mac, link, type);
		for (n = strlen(line); n && line[n - 1] == ' '; n--)
			line[n - 1] = '\0';
		printf("%s\n", line);
		return;
	}
	for (int i = 0; i < 4; i++) {
		if (i)
			fputs(o->delim, stdout);
		put_field(f[i], o);
	}
	fputc('\n', stdout);
}

static int list_parse(int argc, char **argv, struct list_opts *o)
{
	int c;

	*o = (struct list_opts){.header = true, .delim = ":"};
	while ((c = getopt(argc, argv, "lLpd:Hvh")) != -1) {
		if (c == 'l' || c == 'L') {
			if (o->stubs)
				return usage("-l and -L cannot be used together");
			o->stubs = c == 'l' ? 1 : -1;
		} else if (c == 'p')
			o->parseable = true;
		else if (c == 'd')
			o->delim = optarg;
		else if (c == 'H')
			o->header = false;
		else if (c == 'h' || c == '?')
			return usage(NULL);
	}
	if (optind < argc)
		return usage("unexpected argument \"%s\"", argv[optind]);
	return 0;
}

static int cmd_list(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct net_nictag *tags = NULL;
	struct list_opts o;
	size_t n = 0;
	int r = list_parse(argc, argv, &o);

	if (r)
		return r;
	if (net_nictag_list(&tags, &n, &err) < 0)
		return fail(&err);
	if (o.header && !o.parseable)
		print_row("NAME", "MACADDRESS", "LINK", "TYPE", &o);
	for (size_t i = 0; i < n; i++) {
		bool stub = !tags[i].uplink;

		if ((o.stubs > 0 && !stub) || (o.stubs < 0 && stub))
			continue;
		print_row(tags[i].name, tags[i].mac ? tags[i].mac : "-",
			  tags[i].uplink ? tags[i].uplink : "-", stub ? "etherstub" : "normal", &o);
	}
	net_nictags_free(tags, n);
	return EXIT_OK;
}

/* ---- main ---- */

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
};

int main(int argc, char **argv)
{
	static const struct command cmds[] = {
		{"add", cmd_add},   {"update", cmd_update}, {"delete", cmd_delete},
		{"list", cmd_list}, {"exists", cmd_exists}, {"vms", cmd_vms},
	};

	if (argc < 2)
		return usage(NULL);
	if (streq(argv[1], "help") || streq(argv[1], "-h") || streq(argv[1], "-?") ||
	    streq(argv[1], "--help")) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (streq(argv[1], cmds[i].name)) {
			int r = cmd_require_root();

			optind = 1;
			return r ? r : cmds[i].fn(argc - 1, argv + 1);
		}
	}
	return usage("unknown command \"%s\"", argv[1]);
}
