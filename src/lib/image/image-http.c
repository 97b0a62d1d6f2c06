/*
 * image-http.c - bounded HTTP GETs from image sources.  Everything a source
 * sends is untrusted: its bytes, their number, their pace, its redirects.
 *
 * Owns: the libcurl handle of one request and, during a download, the
 * SHA-1 of what was written to the caller's file.
 *
 *     struct image_http_limits lim;
 *     image_source_limits(source, &f->limits, false, &lim);
 *     if (image_http_get(url, &lim, f, IMAGE_MANIFEST_MAX, "a manifest", &text, &len, &err) < 0)
 *     ...
 *     image_source_limits(source, &f->limits, true, &lim);
 *     if (image_http_download(url, &lim, f, file0, fd, &err) < 0) ...
 *
 * Rules (docs/man/imgadm.8, LIMITS ON IMAGE SOURCES), whatever libcurl's defaults are:
 * only http and https, for redirects too (a https URL only to https), at
 * most IMAGE_REDIRECTS_MAX of them; a request during which fewer than
 * speed_limit bytes/s arrive for speed_time s is abandoned, and so is one
 * that lasts max_time s (a download's retries included); connecting must
 * succeed within speed_time s too.  An answer is cut at its cap: JSON at
 * max bytes or IMAGE_JSON_VALUES_MAX values (counted as the bytes arrive,
 * so a huge answer is never held), a file at its declared size (the byte
 * after it aborts the transfer).  No content encoding is asked for, so what
 * is counted is what is stored.  A download that drops (a reset, a close
 * before the declared size) restarts from byte 0, IMAGE_HTTP_ATTEMPTS in
 * all, 1 s then 2 s apart; a stall is not retried.  A download returns only
 * once its size and SHA-1 (hashed as it is written) match files[0].  A
 * signal that sets f->cancel ends any of it, at the next progress call
 * (about once a second), with -EINTR.
 */
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "image-internal.h"
#include "image.h"
#include "jsonutil.h"

#define IMAGE_HTTP_ATTEMPTS   3
#define CONNECT_TIMEOUT_NOLIM 30L  /* s, when the low-speed rule is off */
#define BACKSTOP_MS	      2000 /* libcurl's own timeout, after ours */

DEFINE_CLEANUP_FUNC(EVP_MD_CTX, EVP_MD_CTX_free)

static void curl_cleanupp(CURL **c)
{
	if (*c)
		curl_easy_cleanup(*c);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- counting JSON values ---- */

void image_json_scan(struct image_json_scan *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (s->in_str) {
			if (s->esc)
				s->esc = false;
			else if (c == '\\')
				s->esc = true;
			else if (c == '"')
				s->in_str = false;
		} else if (c == '"') {
			s->in_str = true;
		} else if (c == '[' || c == '{' || c == ',' || c == ':') {
			s->values++;
		}
	}
}

/* ---- one request ---- */

/* Why xfer_info() stopped a transfer. */
enum stop { STOP_NONE, STOP_CANCEL, STOP_STALL, STOP_LATE };

struct req {
	const char *url;
	const struct image_http_limits *lim;
	const struct image_fetch *f;
	uint64_t total;	   /* the declared size, for progress; 0: unknown */
	int64_t deadline;  /* now_ms() at which max_time ends; 0: none */
	int64_t win_start; /* the low-speed window: when it began, */
	uint64_t win_got;  /* and the bytes received then */
	enum stop stop;
	char errbuf[CURL_ERROR_SIZE];
};

/*
 * The low-speed rule: each window of speed_time s must bring speed_limit *
 * speed_time bytes; a window that has them ends there and the next starts.
 */
static bool stalled(struct req *q, uint64_t got, int64_t now)
{
	const struct image_http_limits *l = q->lim;

	if (l->speed_limit <= 0 || l->speed_time <= 0)
		return false;
	if (got - q->win_got >= (uint64_t)l->speed_limit * (uint64_t)l->speed_time) {
		q->win_start = now;
		q->win_got = got;
		return false;
	}
	return now - q->win_start >= l->speed_time * 1000;
}

/* Called by libcurl about once a second at least, from connecting to the end. */
static int xfer_info(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		     curl_off_t ulnow)
{
	struct req *q = ud;
	int64_t now = now_ms();

	(void)dltotal, (void)ultotal, (void)ulnow;
	if (q->f->cancel && *q->f->cancel)
		q->stop = STOP_CANCEL;
	else if (q->deadline && now >= q->deadline)
		q->stop = STOP_LATE;
	else if (stalled(q, (uint64_t)dlnow, now))
		q->stop = STOP_STALL;
	if (q->stop != STOP_NONE)
		return 1;
	if (q->f->progress && q->total)
		q->f->progress(q->f->ud, (uint64_t)dlnow, q->total);
	return 0;
}

/* Only http and https; a https URL is redirected to https only. */
static void set_protocols(CURL *c, const char *url)
{
	const bool tls = strncasecmp(url, "https://", 8) == 0;

#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: the _STR options */
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, tls ? "https" : "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS,
			 tls ? (long)CURLPROTO_HTTPS : (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)IMAGE_REDIRECTS_MAX);
}

/* xfer_info() applies the limits; libcurl's own timeouts are a backstop behind it. */
static void set_limits(CURL *c, struct req *q)
{
	const struct image_http_limits *l = q->lim;
	const bool slow = l->speed_limit > 0 && l->speed_time > 0;

	q->win_start = now_ms();
	q->win_got = 0;
	q->stop = STOP_NONE;
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, slow ? l->speed_time : CONNECT_TIMEOUT_NOLIM);
	if (q->deadline) {
		int64_t left = q->deadline - q->win_start + BACKSTOP_MS;

		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(left > 1 ? left : 1));
	}
}

static CURL *req_handle(struct req *q, curl_write_callback write, void *wd)
{
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	q->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, q->url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, q->errbuf);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "zonehost-imgadm");
	set_protocols(c, q->url);
	set_limits(c, q);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, wd);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xfer_info);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, q);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	return c;
}

/* ---- what went wrong ---- */

static const char *effective_url(CURL *c, const struct req *q)
{
	char *u = NULL;

	curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &u);
	return u ? u : q->url;
}

static void bytes_text(char *buf, size_t n, uint64_t got, uint64_t total)
{
	if (total)
		snprintf(buf, n, "%llu of %llu bytes", (unsigned long long)got,
			 (unsigned long long)total);
	else
		snprintf(buf, n, "%llu bytes", (unsigned long long)got);
}

static int late_error(const struct req *q, uint64_t got, struct zh_error *err)
{
	char b[64];

	bytes_text(b, sizeof(b), got, q->total);
	return zh_error_set(err, ETIMEDOUT, "url",
			    "%s: not done within %ld s (max-time): %s received", q->url,
			    q->lim->max_time, b);
}

/* Too little arrived for too long: while connecting, before the answer, or within it. */
static int stall_error(CURL *c, const struct req *q, uint64_t got, struct zh_error *err)
{
	const struct image_http_limits *l = q->lim;
	curl_off_t connected = 0;
	long code = 0;
	char b[64];

	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connected);
	bytes_text(b, sizeof(b), got, q->total);
	if (connected == 0)
		return zh_error_set(err, ETIMEDOUT, "url", "%s: cannot connect within %ld s",
				    q->url,
				    l->speed_time > 0 ? l->speed_time : CONNECT_TIMEOUT_NOLIM);
	if (code == 0)
		return zh_error_set(err, ETIMEDOUT, "url",
				    "%s: no answer: the server took the request but sent less than "
				    "%ld bytes/s for %ld s (speed-limit, speed-time)",
				    q->url, l->speed_limit, l->speed_time);
	return zh_error_set(err, ETIMEDOUT, "url",
			    "%s: transfer stalled after %s: less than %ld bytes/s for %ld s "
			    "(speed-limit, speed-time)",
			    q->url, b, l->speed_limit, l->speed_time);
}

/* Stopped by xfer_info(), or by libcurl's backstop timeouts. */
static int stop_error(CURL *c, const struct req *q, uint64_t got, struct zh_error *err)
{
	curl_off_t connected = 0;

	switch (q->stop) {
	case STOP_CANCEL: return zh_error_set(err, EINTR, "url", "%s: interrupted", q->url);
	case STOP_LATE: return late_error(q, got, err);
	case STOP_STALL: return stall_error(c, q, got, err);
	case STOP_NONE: break;
	}
	curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connected);
	if (connected == 0)
		return stall_error(c, q, got, err);
	return late_error(q, got, err);
}

static int http_error(CURL *c, const struct req *q, struct zh_error *err)
{
	long code = 0;

	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code == 404)
		return zh_error_set(err, ENOENT, "url", "%s: HTTP 404 (not found)", q->url);
	return zh_error_set(err, EIO, "url", "%s: HTTP error %ld", q->url, code);
}

/*
 * The error of a finished transfer that our write callback did not end
 * (got: the bytes taken so far); 0 for CURLE_OK.
 */
static int req_error(CURL *c, CURLcode rc, const struct req *q, uint64_t got, struct zh_error *err)
{
	switch (rc) {
	case CURLE_OK: return 0;
	case CURLE_HTTP_RETURNED_ERROR: return http_error(c, q, err);
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_ABORTED_BY_CALLBACK: return stop_error(c, q, got, err);
	case CURLE_TOO_MANY_REDIRECTS:
		return zh_error_set(err, ELOOP, "url",
				    "%s: more than %d redirects (a redirect loop?), the last to %s",
				    q->url, IMAGE_REDIRECTS_MAX, effective_url(c, q));
	case CURLE_UNSUPPORTED_PROTOCOL:
		return zh_error_set(err, EPROTO, "url",
				    "%s: redirected to %s: only redirects to http or https are "
				    "followed (from https, only to https)",
				    q->url, effective_url(c, q));
	default: break;
	}
	return zh_error_set(err, EIO, "url", "%s: %s", q->url,
			    q->errbuf[0] ? q->errbuf : curl_easy_strerror(rc));
}

/* ---- JSON answers ---- */

struct body {
	char *data;
	size_t len, cap, max;
	struct image_json_scan scan;
	enum { BODY_OK, BODY_BYTES, BODY_VALUES } over; /* which cap the answer passed */
};

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct body *b = ud;
	size_t n = size * nmemb;

	image_json_scan(&b->scan, ptr, n);
	if (n > b->max - b->len)
		b->over = BODY_BYTES;
	else if (b->scan.values > IMAGE_JSON_VALUES_MAX)
		b->over = BODY_VALUES;
	if (b->over)
		return 0;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		char *d;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(d = realloc(b->data, cap)))
			return 0;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

int image_http_get(const char *url, const struct image_http_limits *lim,
		   const struct image_fetch *f, size_t max, const char *what, char **text,
		   size_t *len, struct zh_error *err)
{
	struct req q = {.url = url, .lim = lim, .f = f};
	struct body b = {.max = max, .scan = IMAGE_JSON_SCAN_INIT};
	_cleanup_(curl_cleanupp) CURL *c = NULL;
	CURLcode rc;
	int r;

	if (lim->max_time > 0)
		q.deadline = now_ms() + lim->max_time * 1000;
	if (!(c = req_handle(&q, body_write, &b)))
		return zh_error_oom(err);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
	rc = curl_easy_perform(c);
	if (b.over == BODY_VALUES)
		r = zh_error_set(err, EFBIG, "url",
				 "%s: answer has more than %u JSON values (the limit for %s)", url,
				 IMAGE_JSON_VALUES_MAX, what);
	else if (b.over == BODY_BYTES || rc == CURLE_FILESIZE_EXCEEDED)
		r = zh_error_set(err, EFBIG, "url",
				 "%s: answer larger than %zu bytes (the limit for %s)", url, max,
				 what);
	else if (rc == CURLE_WRITE_ERROR)
		r = zh_error_oom(err);
	else
		r = req_error(c, rc, &q, b.len, err);
	if (r < 0) {
		free(b.data);
		return r;
	}
	*text = b.data ? b.data : strdup("");
	*len = b.len;
	return *text ? 0 : zh_error_oom(err);
}

/* ---- image files ---- */

struct dl {
	int fd;
	uint64_t want, got;
	EVP_MD_CTX *sha;
	bool over;     /* the server sent more than want */
	int write_err; /* errno of a failed write (ENOSPC, EDQUOT, ...) */
};

static size_t dl_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct dl *d = ud;
	size_t n = size * nmemb;
	int r;

	if (n > d->want - d->got) {
		d->over = true;
		return 0;
	}
	r = fsutil_write_all(d->fd, ptr, n);
	if (r < 0) {
		d->write_err = -r;
		return 0;
	}
	if (EVP_DigestUpdate(d->sha, ptr, n) != 1) {
		d->write_err = EIO;
		return 0;
	}
	d->got += n;
	return n;
}

static bool retryable(CURLcode rc)
{
	return rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
	       rc == CURLE_SEND_ERROR;
}

static int dl_reset(struct dl *d, struct zh_error *err)
{
	off_t end = lseek(d->fd, 0, SEEK_END);

	d->got = 0;
	d->over = false;
	d->write_err = 0;
	/* only when there is something to drop: btrfs flushes a file truncated to 0 when it is
	 * closed, which would write out what the stage is about to discard */
	if (end < 0 || (end > 0 && ftruncate(d->fd, 0) < 0) || lseek(d->fd, 0, SEEK_SET) < 0)
		return zh_error_set(err, errno, NULL, "cannot truncate the download file: %m");
	if (EVP_DigestInit_ex(d->sha, EVP_sha1(), NULL) != 1)
		return zh_error_set(err, EIO, NULL, "SHA-1 failed");
	return 0;
}

/* The error of an attempt whose transfer our write callback ended. */
static int dl_stopped(const struct req *q, const struct dl *d, struct zh_error *err)
{
	if (d->over)
		return zh_error_set(err, EFBIG, "url",
				    "%s: the server sent more than the %llu bytes that the "
				    "manifest's \"files[0].size\" declares (stopped at byte %llu)",
				    q->url, (unsigned long long)d->want,
				    (unsigned long long)d->want + 1);
	return zh_error_set(err, d->write_err, NULL, "%s: cannot store the download: %s", q->url,
			    strerror(d->write_err));
}

static int dl_once(struct req *q, struct dl *d, bool *retry, struct zh_error *err)
{
	_cleanup_(curl_cleanupp) CURL *c = NULL;
	CURLcode rc;
	int r;

	*retry = false;
	if ((r = dl_reset(d, err)) < 0)
		return r;
	if (!(c = req_handle(q, dl_write, d)))
		return zh_error_oom(err);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)d->want);
	rc = curl_easy_perform(c);
	if (rc == CURLE_WRITE_ERROR && (d->over || d->write_err))
		return dl_stopped(q, d, err);
	if (rc == CURLE_FILESIZE_EXCEEDED)
		return zh_error_set(err, EFBIG, "url",
				    "%s: the server announces more than the %llu bytes that the "
				    "manifest's \"files[0].size\" declares (Content-Length)",
				    q->url, (unsigned long long)d->want);
	*retry = retryable(rc);
	if ((r = req_error(c, rc, q, d->got, err)) < 0)
		return r;
	if (d->got == d->want)
		return 0;
	*retry = true; /* a close before the end, with no Content-Length to tell curl */
	return zh_error_set(err, EIO, "url",
			    "%s: the server closed the transfer after %llu of %llu bytes", q->url,
			    (unsigned long long)d->got, (unsigned long long)d->want);
}

/* Sleep ms, unless cancelled or past the deadline first: -EINTR / -ETIMEDOUT. */
static int backoff(const struct req *q, int64_t ms)
{
	const int64_t until = now_ms() + ms;

	while (now_ms() < until) {
		struct timespec step = {0, 100 * 1000000L};

		if (q->f->cancel && *q->f->cancel)
			return -EINTR;
		if (q->deadline && now_ms() >= q->deadline)
			return -ETIMEDOUT;
		nanosleep(&step, NULL);
	}
	return 0;
}

static int dl_attempts(struct req *q, struct dl *d, struct zh_error *err)
{
	bool retry = false;
	int r = 0;

	for (int i = 1; i <= IMAGE_HTTP_ATTEMPTS; i++) {
		zh_error_clear(err);
		r = dl_once(q, d, &retry, err);
		if (r == 0 || !retry)
			return r;
		if (i < IMAGE_HTTP_ATTEMPTS && (r = backoff(q, 1000LL << (i - 1))) == -EINTR)
			return zh_error_set(err, EINTR, "url", "%s: interrupted", q->url);
		if (i == IMAGE_HTTP_ATTEMPTS || r < 0)
			return zh_error_prefix(err, "after %d attempts", i);
	}
	return r;
}

static int dl_verify(const struct req *q, struct dl *d, const char *want, struct zh_error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char got[41];

	if (EVP_DigestFinal_ex(d->sha, md, &mdlen) != 1 || mdlen != 20)
		return zh_error_set(err, EIO, NULL, "%s: SHA-1 failed", q->url);
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(got + 2 * i, 3, "%02x", md[i]);
	if (strcasecmp(got, want) != 0)
		return zh_error_set(err, EINVAL, "files[0].sha1",
				    "%s: SHA-1 is %s but the manifest's \"files[0].sha1\" is %s "
				    "(corrupt or wrong file)",
				    q->url, got, want);
	if (lseek(d->fd, 0, SEEK_SET) < 0)
		return zh_error_set(err, errno, NULL, "%s: %m", q->url);
	return 0;
}

int image_http_download(const char *url, const struct image_http_limits *lim,
			const struct image_fetch *f, const json_t *file0, int fd,
			struct zh_error *err)
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *sha = EVP_MD_CTX_new();
	const char *want_sha = jsonutil_str(file0, "sha1");
	json_int_t size = json_integer_value(json_object_get(file0, "size"));
	struct req q = {.url = url, .lim = lim, .f = f, .total = (uint64_t)size};
	struct dl d = {.fd = fd, .want = (uint64_t)size, .sha = sha};
	int r;

	if (!sha)
		return zh_error_oom(err);
	if (!want_sha || size < 0)
		return zh_error_set(err, EINVAL, "files[0]",
				    "manifest: \"files[0]\" needs \"sha1\" and \"size\"");
	if (lim->max_time > 0)
		q.deadline = now_ms() + lim->max_time * 1000;
	r = dl_attempts(&q, &d, err);
	if (r < 0)
		return r;
	return dl_verify(&q, &d, want_sha, err);
}
