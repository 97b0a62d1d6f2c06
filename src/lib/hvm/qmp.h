/*
 * qmp.h - a QMP client on QEMU's unix socket (docs/architecture.md §22).
 * QEMU is untrusted (a guest may have taken it over): every reply is
 * bounded (QMP_MAX_LINE), every wait has a deadline, and what arrives is
 * only parsed, never obeyed.
 *
 *     struct qmp q;
 *     if (qmp_open(&q, "<root>/tmp/vm.qmp", 5000, &err) < 0) ...
 *     r = qmp_execute(&q, "system_powerdown", NULL, 2000, NULL, &err);
 *     qmp_close(&q);
 */
#ifndef ZH_QMP_H
#define ZH_QMP_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

#define QMP_MAX_LINE 65536

enum qmp_kind { QMP_GREETING, QMP_RETURN, QMP_ERROR, QMP_EVENT };

struct qmp {
	int fd;
	size_t used;
	char buf[QMP_MAX_LINE];
};

/*
 * One message (a line without its newline) -> its kind (>= 0) and the
 * object (the "return" value, the "error" object, the event or the
 * greeting; new reference) in *msg; -EPROTO for anything else.
 */
int qmp_parse(const char *line, size_t len, json_t **msg, struct zh_error *err);

/* Connect, read the greeting, negotiate (qmp_capabilities); all within timeout_ms. */
int qmp_open(struct qmp *q, const char *path, int timeout_ms, struct zh_error *err);
/*
 * Run cmd (args may be NULL); events are skipped.  0 with the return
 * value in *ret (may be NULL), -EIO with QEMU's error text, -ETIMEDOUT,
 * -EMSGSIZE (a line longer than QMP_MAX_LINE), -EPIPE (QEMU went away).
 */
int qmp_execute(struct qmp *q, const char *cmd, json_t *args, int timeout_ms, json_t **ret,
		struct zh_error *err);
void qmp_close(struct qmp *q);

#endif
