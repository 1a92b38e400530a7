/*
 * libcurl's URL parser as conf.c's URL checker: kept apart from conf.c so
 * that only the programs that talk HTTP link libcurl.
 */
#ifndef SVRELAY_URLCHECK_H
#define SVRELAY_URLCHECK_H

/* Why url is not an http(s) URL with a host by libcurl's rules, or NULL. */
const char	*urlcheck_problem(const char *url);

#endif
