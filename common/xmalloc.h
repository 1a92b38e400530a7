/*
 * Allocators that die on exhaustion (tmux's xmalloc.c): callers never test
 * for NULL.  Everything they return is freed with free(3).
 */
#ifndef SVRELAY_XMALLOC_H
#define SVRELAY_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
