/*
 * mono.c - the monotonic clock, read the one way the daemons need it.
 *
 * CLOCK_MONOTONIC never fails on Linux with a valid clock id and a valid
 * pointer, so there is no error path.
 */
#include <time.h>

#include "mono.h"

uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

time_t
mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}
