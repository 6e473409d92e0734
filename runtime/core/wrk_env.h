/*
 * wrk_env.h - the runtime's on/off switches in the environment.
 *
 * Every measured default of the runtime (PDL, half-round GEMVs, split-K, the staged Q8_0
 * kernel, KV cache reuse, device greedy sampling, ...) can be turned off by setting its
 * WORKER_* variable to "0", so that a benchmark can compare with and without it on one
 * build. These helpers are that one rule; any other value, or none, leaves the default on.
 */
#ifndef WRK_ENV_H
#define WRK_ENV_H

#ifdef __cplusplus
extern "C" {
#endif

/** 0 when the variable `name` is set to "0", else 1; read at every call. */
int wrk_env_on(const char *name);

/** wrk_env_on read once: *state < 0 means not read yet and receives 0 or 1 (racing first
 *  calls store the same value); a state set by other means (a test's override) is kept. */
int wrk_env_on_once(const char *name, volatile int *state);

#ifdef __cplusplus
}
#endif
#endif
