/*
 * A small XML-RPC client for supervisord's HTTP server, over libcurl:
 * unix:///path/to/supervisor.sock (HTTP on a Unix socket) or
 * http://host:port, always POSTing to /RPC2 as supervisorctl does.  One
 * easy handle, so that successive calls reuse the connection; every call
 * ends by an absolute deadline.  Used by the svrelay-context helper only:
 * the listener itself never loads libcurl.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "log.h"
#include "xmalloc.h"
#include "listener.h"

struct rpc {
	CURL			*curl;
	struct curl_slist	*headers;
	char			*server;	/* the server URL, for messages */
	char			*url;		/* what curl connects to */
	char			*socket;	/* unix socket path, or NULL */
	char			*body;		/* the last response */
	size_t			 len;
	size_t			 size;
	int			 toolarge;
	char			 errbuf[CURL_ERROR_SIZE];
};

int64_t
rpc_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static size_t
rpc_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct rpc	*r = arg;
	size_t		 n = size * nmemb;

	if (r->len + n > XMLRPC_MAX_BODY) {
		r->toolarge = 1;
		return (0);	/* curl stops: CURLE_WRITE_ERROR */
	}
	if (r->len + n + 1 > r->size) {
		r->size = (r->len + n + 1) * 2;
		if (r->size > XMLRPC_MAX_BODY + 1)
			r->size = XMLRPC_MAX_BODY + 1;
		r->body = xreallocarray(r->body, r->size, 1);
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return (n);
}

/*
 * A client for supervisord at url (SUPERVISOR_SERVER_URL's form), with
 * HTTP basic authentication when user is not NULL.  Returns NULL with a
 * reason in err if the URL is not one supervisord uses.
 */
struct rpc *
rpc_new(const char *url, const char *user, const char *password, char *err,
    size_t errlen)
{
	struct rpc	*r;
	const char	*rest;

	r = xcalloc(1, sizeof *r);
	r->server = xstrdup(url);
	if (strncasecmp(url, "unix://", 7) == 0) {
		if (url[7] != '/' || strlen(url + 7) >= 108) {
			snprintf(err, errlen, "server URL %s: not unix:// and "
			    "an absolute socket path", url);
			free(r->server);
			free(r);
			return (NULL);
		}
		r->socket = xstrdup(url + 7);
		r->url = xstrdup("http://localhost/RPC2");
	} else if (strncasecmp(url, "http://", 7) == 0 && url[7] != '\0' &&
	    url[7] != '/') {
		rest = url + 7;
		xasprintf(&r->url, "http://%.*s/RPC2", (int)strcspn(rest,
		    "/?#"), rest);
	} else {
		snprintf(err, errlen, "server URL %s: neither unix:// nor "
		    "http://", url);
		free(r->server);
		free(r);
		return (NULL);
	}
	if ((r->curl = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	r->headers = curl_slist_append(NULL, "Content-Type: text/xml");
	r->headers = curl_slist_append(r->headers, "Expect:");
	curl_easy_setopt(r->curl, CURLOPT_URL, r->url);
	if (r->socket != NULL)
		curl_easy_setopt(r->curl, CURLOPT_UNIX_SOCKET_PATH, r->socket);
	curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(r->curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, rpc_write);
	curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->curl, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->curl, CURLOPT_USERAGENT, "svrelay-context/"
	    PACKAGE_VERSION);
	if (user != NULL) {
		curl_easy_setopt(r->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(r->curl, CURLOPT_USERNAME, user);
		curl_easy_setopt(r->curl, CURLOPT_PASSWORD,
		    password != NULL ? password : "");
	}
	return (r);
}

void
rpc_free(struct rpc *r)
{
	if (r == NULL)
		return;
	curl_easy_cleanup(r->curl);
	curl_slist_free_all(r->headers);
	free(r->server);
	free(r->url);
	free(r->socket);
	free(r->body);
	free(r);
}

/*
 * Call method(params) and wait until deadline (rpc_now() ms) at most.
 * Returns RPC_OK with the value in *result (the caller puts it),
 * RPC_FAULT with the fault code in *code and its string in err, RPC_HTTP
 * with the HTTP status in *code, RPC_TIMEOUT, or RPC_ERROR (no answer, or
 * one that is not XML-RPC); err says why.  No message holds the password.
 */
int
rpc_call(struct rpc *r, int64_t deadline, const char *method,
    const struct xmlrpc_param *params, size_t nparams,
    struct json_object **result, int *code, char *err, size_t errlen)
{
	CURLcode	 rc;
	char		*req;
	long		 status = 0;
	int64_t		 left;
	int		 x;

	*result = NULL;
	*code = 0;
	if ((left = deadline - rpc_now()) <= 0) {
		snprintf(err, errlen, "%s: no time left", method);
		return (RPC_TIMEOUT);
	}
	req = xmlrpc_request(method, params, nparams);
	r->len = 0;
	r->toolarge = 0;
	r->errbuf[0] = '\0';
	curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(req));
	curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, (long)left);
	curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)left);
	rc = curl_easy_perform(r->curl);
	curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, NULL);
	free(req);
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(err, errlen, "%s: %s", method, r->errbuf[0] != '\0' ?
		    r->errbuf : curl_easy_strerror(rc));
		return (RPC_TIMEOUT);
	}
	if (r->toolarge) {
		snprintf(err, errlen, "%s: response larger than %d bytes",
		    method, XMLRPC_MAX_BODY);
		return (RPC_ERROR);
	}
	if (rc == CURLE_COULDNT_CONNECT) {
		snprintf(err, errlen, "cannot connect to supervisord at %s",
		    r->server);
		return (RPC_ERROR);
	}
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s: %s", method, r->errbuf[0] != '\0' ?
		    r->errbuf : curl_easy_strerror(rc));
		return (RPC_ERROR);
	}
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		*code = (int)status;
		snprintf(err, errlen, "%s: HTTP %ld", method, status);
		return (RPC_HTTP);
	}
	x = xmlrpc_parse(r->body != NULL ? r->body : "", r->len, result, code,
	    err, errlen);
	if (x == XMLRPC_OK)
		return (RPC_OK);
	return (x == XMLRPC_FAULT ? RPC_FAULT : RPC_ERROR);
}
