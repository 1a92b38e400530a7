/*
 * Pacing and backoff: a token bucket per destination (Slack asks for about
 * one message a second per channel, short bursts allowed) and exponential
 * backoff with jitter between retries.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "delivery_int.h"

int64_t
pace_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

void
pace_init(struct pace_bucket *b, int rate_per_minute, int burst,
    int64_t now_ms)
{
	b->rate_per_minute = rate_per_minute;
	b->burst = burst < 1 ? 1 : burst;
	b->tokens = b->burst;
	b->last_ms = now_ms;
}

/* Refill for the time since the last look. */
static void
pace_refill(struct pace_bucket *b, int64_t now_ms)
{
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) *
		    b->rate_per_minute / 60000.0;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
	}
	b->last_ms = now_ms;
}

/* A new rate (reload): keep what is saved up, within the new burst. */
void
pace_setrate(struct pace_bucket *b, int rate_per_minute, int burst,
    int64_t now_ms)
{
	pace_refill(b, now_ms);
	b->rate_per_minute = rate_per_minute;
	b->burst = burst < 1 ? 1 : burst;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
}

int64_t
pace_take(struct pace_bucket *b, int64_t now_ms)
{
	double	missing;
	int64_t	wait;

	if (b->rate_per_minute <= 0)
		return (0);
	pace_refill(b, now_ms);
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return (0);
	}
	missing = 1.0 - b->tokens;
	wait = (int64_t)(missing * 60000.0 / b->rate_per_minute) + 1;
	return (wait);
}

/*
 * "Equal jitter": the step doubles from 2 * min_ms; half of it is fixed,
 * half random, so that retries spread out but never come sooner than
 * min_ms nor later than max_ms.
 */
int64_t
pace_backoff(int attempt, int min_ms, int max_ms)
{
	int64_t	cap, half, d;
	int	i;

	if (attempt < 1)
		attempt = 1;
	cap = min_ms;
	for (i = 0; i < attempt && cap < max_ms; i++)
		cap *= 2;
	if (cap > max_ms)
		cap = max_ms;
	half = cap / 2;
	d = half + (half > 0 ? (int64_t)(random() % (half + 1)) : 0);
	if (d < min_ms)
		d = min_ms;
	if (d > max_ms)
		d = max_ms;
	return (d);
}
