/*
 * fuzz-oci-config.c - libFuzzer target for the oci layer's config.json
 * parser (docs/architecture.md §24.1): oci_config_parse on the input and,
 * when it parses, what the runtime does next with a config: compile its
 * seccomp profile (and check the program's shape), map its resources to
 * vmadm properties.  The input also goes to oci_process_parse and
 * oci_resources_parse (exec --process, update --resources).  Seeds in
 * tests/fuzz/corpus/fuzz-oci-config/: containerd's and Podman's configs, a
 * Docker-default-shaped seccomp profile, error cases.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use_spec(const struct oci_spec *s)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct sock_fprog prog;
	unsigned int flags;
	json_t *p;

	if (oci_seccomp_compile(s, &prog, &flags, &err) == 0) {
		if ((prog.len == 0) != (prog.filter == NULL) || prog.len > 4096)
			abort();
		oci_seccomp_free(&prog);
	} else if (!err.msg) {
		abort();
	}
	zh_error_clear(&err);
	p = oci_resources_to_payload(&s->lnx.resources, &err);
	json_decref(p);
	zh_error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct oci_resources r = {0};
	struct oci_spec *s = oci_config_parse((const char *)data, size, &err);
	struct oci_process *p;

	if (s) {
		if (!s->process || !s->process->args || !s->process->args[0] || !s->root_path)
			abort();
		use_spec(s);
		oci_spec_free(s);
	} else if (!err.msg || err.errnum == 0) {
		abort();
	}
	zh_error_clear(&err);
	p = oci_process_parse((const char *)data, size, &err);
	oci_process_free(p);
	zh_error_clear(&err);
	if (oci_resources_parse((const char *)data, size, &r, &err) == 0)
		oci_resources_clear(&r);
	zh_error_clear(&err);
	return 0;
}
