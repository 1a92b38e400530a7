/*
 * HTTP for the delivery engine: libcurl's multi socket interface driven by
 * svrelayd's own event_base (the pattern of curl's hiperfifo.c).  curl
 * tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to
 * wake it (CURLMOPT_TIMERFUNCTION); libevent tells curl when a socket is
 * ready.  No threads, nothing blocks.  The multi handle keeps connections
 * open for reuse; TLS is always verified.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "delivery_int.h"
#include "log.h"
#include "xmalloc.h"

struct http_req {
	CURL			*easy;
	struct curl_slist	*headers;
	struct evbuffer		*body;
	char			*logname;
	char			 errbuf[CURL_ERROR_SIZE];
	http_cb			 cb;
	void			*arg;
	TAILQ_ENTRY(http_req)	 entry;
};
TAILQ_HEAD(http_reqs, http_req);

static struct {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	struct http_reqs	 reqs;
	int			 running;
	char			**secrets;
	size_t			 nsecrets;
} http;

static void	http_check_done(void);

void
http_secrets_clear(void)
{
	size_t	i;

	for (i = 0; i < http.nsecrets; i++) {
		explicit_bzero(http.secrets[i], strlen(http.secrets[i]));
		free(http.secrets[i]);
	}
	free(http.secrets);
	http.secrets = NULL;
	http.nsecrets = 0;
}

void
http_secret(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return;
	http.secrets = xreallocarray(http.secrets, http.nsecrets + 1,
	    sizeof *http.secrets);
	http.secrets[http.nsecrets++] = xstrdup(s);
}

void
http_scrub(char *s, size_t size)
{
	char	*p;
	size_t	 slen, rlen = strlen("…"), i;

	for (i = 0; i < http.nsecrets; i++) {
		slen = strlen(http.secrets[i]);
		while ((p = strstr(s, http.secrets[i])) != NULL) {
			/* "…" is never longer than a secret worth hiding. */
			if (slen < rlen) {
				memset(p, '*', slen);
				continue;
			}
			memcpy(p, "…", rlen);
			memmove(p + rlen, p + slen, strlen(p + slen) + 1);
		}
	}
	s[size - 1] = '\0';
}

/* libevent: a socket curl watches is ready. */
static void
http_event_cb(evutil_socket_t fd, short what, void *arg)
{
	int	action = 0;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(http.multi, fd, action, &http.running);
	http_check_done();
}

/* libevent: curl's timer is due. */
static void
http_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	curl_multi_socket_action(http.multi, CURL_SOCKET_TIMEOUT, 0,
	    &http.running);
	http_check_done();
}

/* curl: watch socket s for what (or stop watching it). */
static int
http_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct event	*ev = socketp;
	short		 kind;

	if (what == CURL_POLL_REMOVE) {
		if (ev != NULL) {
			event_free(ev);
			curl_multi_assign(http.multi, s, NULL);
		}
		return (0);
	}
	kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (ev != NULL) {
		event_del(ev);
		event_assign(ev, http.base, s, kind, http_event_cb, NULL);
	} else {
		ev = event_new(http.base, s, kind, http_event_cb, NULL);
		if (ev == NULL)
			fatalx("event_new");
		curl_multi_assign(http.multi, s, ev);
	}
	event_add(ev, NULL);
	return (0);
}

/* curl: call me back in timeout_ms (-1: never). */
static int
http_timerfn_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct timeval	tv;

	if (timeout_ms < 0) {
		evtimer_del(http.timer);
		return (0);
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(http.timer, &tv);
	return (0);
}

static size_t
http_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_req	*r = arg;
	size_t		 len = size * nmemb, have, room;

	have = evbuffer_get_length(r->body);
	room = have < HTTP_MAX_BODY ? HTTP_MAX_BODY - have : 0;
	evbuffer_add(r->body, ptr, len < room ? len : room);
	return (len);
}

int
http_init(struct event_base *base)
{
	static int	done;

	if (!done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			log_warnx("curl_global_init failed");
			return (-1);
		}
		done = 1;
	}
	http.base = base;
	TAILQ_INIT(&http.reqs);
	if ((http.multi = curl_multi_init()) == NULL) {
		log_warnx("curl_multi_init failed");
		return (-1);
	}
	if ((http.timer = evtimer_new(base, http_timer_cb, NULL)) == NULL)
		fatalx("evtimer_new");
	curl_multi_setopt(http.multi, CURLMOPT_SOCKETFUNCTION, http_socket_cb);
	curl_multi_setopt(http.multi, CURLMOPT_TIMERFUNCTION, http_timerfn_cb);
	curl_multi_setopt(http.multi, CURLMOPT_MAXCONNECTS, 8L);
	return (0);
}

static void
http_free(struct http_req *r)
{
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	evbuffer_free(r->body);
	free(r->logname);
	free(r);
}

void
http_cancel(struct http_req *r)
{
	TAILQ_REMOVE(&http.reqs, r, entry);
	curl_multi_remove_handle(http.multi, r->easy);
	http_free(r);
}

void
http_shutdown(void)
{
	struct http_req	*r;

	if (http.multi == NULL)
		return;
	while ((r = TAILQ_FIRST(&http.reqs)) != NULL)
		http_cancel(r);
	curl_multi_cleanup(http.multi);
	http.multi = NULL;
	event_free(http.timer);
	http.timer = NULL;
	http_secrets_clear();
}

struct http_req *
http_post(const char *url, const char *bearer, const char *body, size_t len,
    long connect_ms, long total_ms, const char *logname, http_cb cb,
    void *arg)
{
	struct http_req	*r;
	char		*auth;
	CURL		*e;

	r = xcalloc(1, sizeof *r);
	r->cb = cb;
	r->arg = arg;
	r->logname = xstrdup(logname);
	if ((r->body = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	if ((e = r->easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init");

	r->headers = curl_slist_append(r->headers,
	    "Content-Type: application/json; charset=utf-8");
	r->headers = curl_slist_append(r->headers, "Expect:");
	if (bearer != NULL) {
		xasprintf(&auth, "Authorization: Bearer %s", bearer);
		r->headers = curl_slist_append(r->headers, auth);
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_USERAGENT, PACKAGE_NAME "/"
	    PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, total_ms);
	/* Verification is libcurl's default; say so, and never turn it off. */
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);

	TAILQ_INSERT_TAIL(&http.reqs, r, entry);
	if (curl_multi_add_handle(http.multi, e) != CURLM_OK) {
		TAILQ_REMOVE(&http.reqs, r, entry);
		log_warnx("http: cannot start a request to %s", r->logname);
		http_free(r);
		return (NULL);
	}
	log_debug("http: POST %s (%zu bytes)", r->logname, len);
	return (r);
}

/* Hand every finished transfer to its callback. */
static void
http_check_done(void)
{
	struct http_result	 res;
	struct http_req		*r;
	CURLMsg			*msg;
	CURL			*e;
	curl_off_t		 retry = -1;
	long			 status = 0;
	int			 left;
	char			 err[CURL_ERROR_SIZE + 64];

	while ((msg = curl_multi_info_read(http.multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		e = msg->easy_handle;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&r);
		memset(&res, 0, sizeof res);
		res.curlcode = msg->data.result;
		status = 0;
		if (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) !=
		    CURLE_OK)
			status = 0;
		retry = -1;
		if (curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &retry) !=
		    CURLE_OK || retry <= 0)
			retry = -1;
		res.retry_after = (long)retry;
		err[0] = '\0';
		if (res.curlcode != CURLE_OK) {
			/* A failed transfer has no answer worth reading. */
			status = 0;
			res.timed_out = res.curlcode ==
			    CURLE_OPERATION_TIMEDOUT;
			snprintf(err, sizeof err, "%s", r->errbuf[0] != '\0' ?
			    r->errbuf : curl_easy_strerror(res.curlcode));
			http_scrub(err, sizeof err);
			log_warnx("http: POST %s: %s", r->logname, err);
		}
		res.status = status;
		res.error = err;
		evbuffer_add(r->body, "", 1);
		res.bodylen = evbuffer_get_length(r->body) - 1;
		res.body = (const char *)evbuffer_pullup(r->body, -1);
		log_debug("http: POST %s: %ld, %zu bytes", r->logname,
		    res.status, res.bodylen);

		TAILQ_REMOVE(&http.reqs, r, entry);
		curl_multi_remove_handle(http.multi, e);
		r->cb(&res, r->arg);
		http_free(r);
	}
}
