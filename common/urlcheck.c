#include "config.h"

#include <string.h>

#include <curl/curl.h>

#include "log.h"
#include "urlcheck.h"

const char *
urlcheck_problem(const char *url)
{
	CURLU		*u;
	char		*scheme = NULL, *host = NULL;
	const char	*why = NULL;

	if ((u = curl_url()) == NULL)
		fatalx("curl_url: out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		why = "is not a valid URL";
	else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
		why = "must start with http:// or https://";
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host[0] == '\0')
		why = "has no host";
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return (why);
}
