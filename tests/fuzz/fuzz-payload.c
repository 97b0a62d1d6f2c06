/*
 * fuzz-payload.c - libFuzzer target for vmadm payloads.
 *
 * Parses the input with jsonutil_parse, then runs it through
 * vmcfg_validate (several brands and actions), vmcfg_create and
 * vmcfg_update (against a fixed stored VM) with a stub host.  Any crash,
 * leak or sanitizer report is a finding; errors are expected and ignored.
 *
 *     ./fuzz-payload -max_total_time=20 corpus/fuzz-payload
 */
#include <stdint.h>
#include <string.h>

#include "jsonutil.h"
#include "vmcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define IMG "11111111-2222-4333-8444-555555555555"

#define ZVOL "22222222-2222-4333-8444-555555555555"

static int stub_image_type(void *ctx, const char *zpool, const char *uuid, char *buf, size_t len)
{
	if (strcmp(uuid, IMG) != 0 && strcmp(uuid, ZVOL) != 0)
		return -ENOENT;
	snprintf(buf, len, "%s", strcmp(uuid, IMG) == 0 ? "zone-dataset" : "zvol");
	return 0;
}

static int stub_image_size(void *ctx, const char *zpool, const char *uuid, int64_t *mib)
{
	if (strcmp(uuid, ZVOL) != 0)
		return -ENOENT;
	*mib = 10240;
	return 0;
}

static bool stub_true(void *ctx, const char *s)
{
	return s[0] != 'x';
}

static bool stub_false(void *ctx, const char *s)
{
	return false;
}

static void stub_warn(void *ctx, const char *line)
{
}

static const char base_vm[] = "{\"brand\":\"joyent\",\"image_uuid\":\"" IMG "\","
			      "\"uuid\":\"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee\","
			      "\"nics\":[{\"nic_tag\":\"admin\",\"mac\":\"b2:00:00:00:00:01\","
			      "\"ips\":[\"192.0.2.5/24\"]}],\"tags\":{\"a\":1},"
			      "\"filesystems\":[{\"target\":\"/x\",\"source\":\"/y\"}],"
			      "\"routes\":{\"10.0.0.0/8\":\"nics[0]\"}}";

static const char base_hvm[] =
	"{\"brand\":\"bhyve\",\"uuid\":\"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeef\","
	"\"ram\":1024,\"disk_driver\":\"virtio\",\"nic_driver\":\"virtio\","
	"\"disks\":[{\"path\":\"/zones/u/disk0\",\"size\":100,"
	"\"model\":\"virtio\",\"boot\":true,\"pci_slot\":\"0:4:0\"}]}";

static void run_validate(const json_t *p, const struct vmcfg_env *env)
{
	static const char *const brands[] = {NULL, "joyent", "lx", "kvm", "bhyve"};
	struct vmcfg_report rep = VMCFG_REPORT_INIT;

	for (size_t i = 0; i < sizeof(brands) / sizeof(brands[0]); i++) {
		for (int a = VMCFG_CREATE; a <= VMCFG_RECEIVE; a++) {
			json_t *o;

			vmcfg_validate(brands[i], (enum vmcfg_action)a, p, env, &rep);
			o = vmcfg_report_json(&rep);
			json_decref(o);
			vmcfg_report_clear(&rep);
		}
	}
}

static void update_base(const json_t *p, const struct vmcfg_env *env, const char *text, size_t len)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *base = NULL, *out = NULL, *ch = NULL;

	if (jsonutil_parse(text, len, "base", &base, &err) == 0)
		vmcfg_update(base, p, env, stub_warn, NULL, &out, &ch, &err);
	zh_error_clear(&err);
	json_decref(base);
	json_decref(out);
	json_decref(ch);
}

static void run_create_update(const json_t *p, const struct vmcfg_env *env)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *vm = NULL, *out = NULL, *ch = NULL;

	if (vmcfg_create(p, env, stub_warn, NULL, &vm, &err) == 0) {
		/* a created config must itself accept an empty update */
		json_t *empty = json_object();

		vmcfg_update(vm, empty, env, stub_warn, NULL, &out, &ch, &err);
		json_decref(empty);
		json_decref(out);
		json_decref(ch);
		out = ch = NULL;
	}
	zh_error_clear(&err);
	json_decref(vm);
	update_base(p, env, base_vm, sizeof(base_vm) - 1);
	update_base(p, env, base_hvm, sizeof(base_hvm) - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *p = NULL, *others = NULL;
	struct vmcfg_env env = {
		.image_type = stub_image_type,
		.image_size = stub_image_size,
		.pool_exists = stub_true,
		.nic_tag_exists = stub_true,
		.vm_exists = stub_false,
	};

	if (jsonutil_parse((const char *)data, size, "payload", &p, &err) < 0) {
		zh_error_clear(&err);
		return 0;
	}
	if (jsonutil_parse(base_vm, sizeof(base_vm) - 1, "o", &others, &err) == 0) {
		json_t *arr = json_array();

		json_array_append_new(arr, others);
		env.other_vms = arr;
		run_validate(p, &env);
		run_create_update(p, &env);
		json_decref(arr);
	}
	zh_error_clear(&err);
	run_create_update(p, NULL);
	json_decref(p);
	return 0;
}
