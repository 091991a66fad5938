/*
 * mono.h - the monotonic clock, for durations and deadlines (never for
 * dates: those are time(3)).
 */
#ifndef TODOD_MONO_H
#define TODOD_MONO_H

#include <stdint.h>
#include <time.h>

/* Microseconds of CLOCK_MONOTONIC. */
uint64_t	mono_us(void);
/* Whole seconds of CLOCK_MONOTONIC. */
time_t		mono_sec(void);

#endif
