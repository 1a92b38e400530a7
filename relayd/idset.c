/*
 * A bounded set of the most recent event ids, for duplicate detection.
 *
 * Ids are not stored: each is reduced to 128 bits by SipHash-2-4 under two
 * random keys chosen at start, so a client cannot craft collisions and an
 * accidental one is out of reach (about 2^-100 over a window).  That keeps
 * 100,000 ids in about 2.5 MB whatever their length.  Entries live in a
 * ring in insertion order (the oldest is forgotten when the ring is full)
 * and are chained from a hash table by ring index.
 */
#include "config.h"

#include <sys/random.h>
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "relayd.h"
#include "xmalloc.h"

struct idset {
	uint64_t	 key[4];
	uint64_t	*hash;		/* cap * 2 */
	int32_t		*next;		/* cap: chain within a bucket */
	int32_t		*bucket;	/* nbucket heads, -1: empty */
	size_t		 nbucket;	/* a power of two */
	size_t		 cap;
	size_t		 head;		/* ring index of the oldest */
	size_t		 count;
};

#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do {							\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

static uint64_t
idset_siphash(const uint64_t *k, const unsigned char *in, size_t len)
{
	uint64_t	v0 = 0x736f6d6570736575ULL ^ k[0];
	uint64_t	v1 = 0x646f72616e646f6dULL ^ k[1];
	uint64_t	v2 = 0x6c7967656e657261ULL ^ k[0];
	uint64_t	v3 = 0x7465646279746573ULL ^ k[1];
	uint64_t	b = (uint64_t)len << 56, m;
	size_t		i, j, full = len - len % 8;

	for (i = 0; i < full; i += 8) {
		m = 0;
		for (j = 0; j < 8; j++)
			m |= (uint64_t)in[i + j] << (8 * j);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (j = 0; j < len % 8; j++)
		b |= (uint64_t)in[full + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return (v0 ^ v1 ^ v2 ^ v3);
}

static void
idset_hash(const struct idset *s, const char *id, uint64_t *h)
{
	size_t	len = strlen(id);

	h[0] = idset_siphash(&s->key[0], (const unsigned char *)id, len);
	h[1] = idset_siphash(&s->key[2], (const unsigned char *)id, len);
}

/* A set remembering the last cap ids.  Free with idset_free. */
struct idset *
idset_new(size_t cap)
{
	struct idset	*s;
	size_t		 i;

	s = xcalloc(1, sizeof *s);
	if (getrandom(s->key, sizeof s->key, 0) != sizeof s->key) {
		/* No entropy yet: still correct, only predictable. */
		s->key[0] = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
		s->key[1] = (uint64_t)(uintptr_t)s;
		s->key[2] = s->key[0] * 0x9e3779b97f4a7c15ULL;
		s->key[3] = ~s->key[1];
	}
	if (cap == 0)
		cap = 1;
	s->cap = cap;
	for (s->nbucket = 16; s->nbucket < cap; s->nbucket <<= 1)
		;
	s->hash = xreallocarray(NULL, cap, 2 * sizeof(uint64_t));
	s->next = xreallocarray(NULL, cap, sizeof(int32_t));
	s->bucket = xreallocarray(NULL, s->nbucket, sizeof(int32_t));
	for (i = 0; i < s->nbucket; i++)
		s->bucket[i] = -1;
	return (s);
}

void
idset_free(struct idset *s)
{
	if (s == NULL)
		return;
	free(s->hash);
	free(s->next);
	free(s->bucket);
	free(s);
}

static int32_t *
idset_slot(const struct idset *s, const uint64_t *h)
{
	return (&s->bucket[h[0] & (s->nbucket - 1)]);
}

int
idset_has(const struct idset *s, const char *id)
{
	uint64_t	h[2];
	int32_t		i;

	idset_hash(s, id, h);
	for (i = *idset_slot(s, h); i != -1; i = s->next[i]) {
		if (s->hash[2 * i] == h[0] && s->hash[2 * i + 1] == h[1])
			return (1);
	}
	return (0);
}

/* Unlink ring entry idx from its bucket's chain. */
static void
idset_unlink(struct idset *s, size_t idx)
{
	int32_t	*p;

	for (p = idset_slot(s, &s->hash[2 * idx]); *p != -1;
	    p = &s->next[*p]) {
		if ((size_t)*p == idx) {
			*p = s->next[idx];
			return;
		}
	}
}

/* Remember id, forgetting the oldest one if the set is full. */
void
idset_add(struct idset *s, const char *id)
{
	int32_t	*slot;
	size_t	 idx;

	if (s->count == s->cap) {
		idset_unlink(s, s->head);
		s->head = (s->head + 1) % s->cap;
		s->count--;
	}
	idx = (s->head + s->count) % s->cap;
	idset_hash(s, id, &s->hash[2 * idx]);
	slot = idset_slot(s, &s->hash[2 * idx]);
	s->next[idx] = *slot;
	*slot = (int32_t)idx;
	s->count++;
}

/* Forget the n ids added last (a batch that could not be written). */
void
idset_pop(struct idset *s, size_t n)
{
	size_t	idx;

	while (n-- > 0 && s->count > 0) {
		idx = (s->head + s->count - 1) % s->cap;
		idset_unlink(s, idx);
		s->count--;
	}
}

size_t
idset_count(const struct idset *s)
{
	return (s->count);
}
