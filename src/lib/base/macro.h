/*
 * macro.h - cleanup attributes and small helpers shared by every module.
 *
 * Owns: nothing at run time.  Provides the scope-based cleanup idiom
 * (systemd cleanup-fundamental.h, LXC memory_utils.h): a variable declared
 * with _cleanup_free_ is freed when it leaves scope; TAKE_PTR()/TAKE_FD()
 * move ownership out explicitly.
 *
 *     _cleanup_free_ char *p = strdup("x");
 *     _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
 *     return TAKE_PTR(p);
 *
 * Invariants: file descriptors start at -EBADF; every destructor accepts
 * NULL / a negative fd and is idempotent.
 */
#ifndef ZH_MACRO_H
#define ZH_MACRO_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _unused_       __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _must_check_   __attribute__((warn_unused_result))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
	*(void **)p = NULL;
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
	*fd = -EBADF;
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
	*f = NULL;
}

/* Free a NULL-terminated vector of strings. */
static inline void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static inline void strv_freep(char ***v)
{
	strv_free(*v);
	*v = NULL;
}

#define _cleanup_free_	 _cleanup_(freep)
#define _cleanup_close_	 _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_strv_	 _cleanup_(strv_freep)

/* Define a cleanup function "<fn>p" for a pointer type freed by fn(). */
#define DEFINE_CLEANUP_FUNC(type, fn)      \
	static inline void fn##p(type **p) \
	{                                  \
		if (*p)                    \
			fn(*p);            \
		*p = NULL;                 \
	}

#define TAKE_PTR(p)                      \
	({                               \
		__typeof__(p) _tp = (p); \
		(p) = NULL;              \
		_tp;                     \
	})

#define TAKE_FD(fd)              \
	({                       \
		int _tfd = (fd); \
		(fd) = -EBADF;   \
		_tfd;            \
	})

#define streq(a, b) (strcmp((a), (b)) == 0)

#endif
