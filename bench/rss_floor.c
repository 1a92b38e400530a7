/*
 * bench/rss_floor [none]: the memory floor svrelayd's libraries set.  Links
 * what svrelayd links for delivery (libcurl, libevent), does what any
 * libcurl-on-libevent daemon does before its first event
 * (curl_global_init, event_base_new, curl_multi_init), says "ready" and
 * sleeps.  With "none" it only links them.  The benchmark reads its
 * /proc/PID/smaps_rollup beside svrelayd's.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

int
main(int argc, char *argv[])
{
	if (argc < 2 || strcmp(argv[1], "none") != 0) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
		    event_base_new() == NULL || curl_multi_init() == NULL)
			return (1);
	}
	printf("ready\n");
	fflush(stdout);
	pause();
	return (0);
}
