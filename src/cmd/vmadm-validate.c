/*
 * vmadm-validate.c - `vmadm validate create [-f file]` and
 * `vmadm validate update <brand> [-f file]` (vmadm.8).
 *
 * Valid: `VALID '<action>' payload for <brand> brand VMs.` on stderr,
 * exit 0.  Invalid: the report object (bad_brand, or bad_values /
 * bad_properties / missing_properties) as 2-space JSON on stderr, exit 1.
 */
#include <string.h>

#include "cmdutil.h"
#include "jsonutil.h"
#include "vm.h"
#include "vmadm.h"
#include "vmcfg-access.h"

static int on_file(void *ctx, int c, const char *arg)
{
	*(const char **)ctx = arg;
	return 0;
}

static int report(const char *action, const char *brand, int r, const struct vmcfg_report *rep)
{
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *s = NULL;

	if (r == 0) {
		fprintf(stderr, "VALID '%s' payload for %s brand VMs.\n", action, brand);
		return EXIT_OK;
	}
	if (r != -EINVAL || !(j = vmcfg_report_json(rep)) ||
	    !(s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER)))
		return cmd_die(EXIT_ERR, "validate: out of memory");
	fprintf(stderr, "%s\n", s);
	return EXIT_ERR;
}

static int parse_action(int argc, char **argv, enum vmcfg_action *action, const char **brand)
{
	if (optind >= argc)
		return vmadm_usage_error("Missing action for validate (create or update)");
	if (streq(argv[optind], "create")) {
		*action = VMCFG_CREATE;
		optind++;
	} else if (streq(argv[optind], "update")) {
		*action = VMCFG_UPDATE;
		if (++optind >= argc)
			return vmadm_usage_error("Missing brand for validate update");
		*brand = argv[optind++];
	} else {
		return vmadm_usage_error("Invalid action for validate: \"%s\"", argv[optind]);
	}
	if (optind < argc)
		return vmadm_usage_error("Too many arguments for validate");
	return 0;
}

int cmd_validate(int argc, char **argv)
{
	struct vmcfg_report rep = VMCFG_REPORT_INIT;
	_cleanup_json_ json_t *payload = NULL;
	enum vmcfg_action action = VMCFG_CREATE;
	const char *file = NULL, *brand = NULL;
	int r;

	if ((r = vmadm_getopt(argc, argv, "f:", on_file, &file)) != 0 ||
	    (r = parse_action(argc, argv, &action, &brand)) != 0)
		return r;
	if ((r = cmd_read_payload(file, "validate", &payload)) != 0)
		return r;
	if (action == VMCFG_CREATE)
		brand = vmcfg_brand(payload);
	r = vm_validate(brand, action, payload, &rep);
	r = report(action == VMCFG_CREATE ? "create" : "update", brand, r, &rep);
	vmcfg_report_clear(&rep);
	return r;
}
