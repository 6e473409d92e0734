/*
 * sampler.h - turns logits into the next token id, reproducibly.
 *
 * Order: repetition penalty (over the ids seen so far, CTRL-style: positive logits divided,
 * negative multiplied) -> temperature 0 = greedy (argmax, lowest id on ties) -> top-k ->
 * softmax at temperature -> top-p -> min-p -> draw with xoshiro256** seeded by splitmix64
 * from the job's seed. The same logits, parameters and seed give the same ids on every
 * run, process and backend.
 */
#ifndef WRK_SAMPLER_H
#define WRK_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wrk_sampler_params {
    float temperature;
    int top_k;
    float top_p;
    float min_p;
    float repetition_penalty;
    uint64_t seed;
} wrk_sampler_params;

typedef struct wrk_sampler wrk_sampler;

/** vocab_size: logits per call. NULL on OOM. */
wrk_sampler *wrk_sampler_new(const wrk_sampler_params *p, uint32_t vocab_size);
void wrk_sampler_free(wrk_sampler *s);

/** Remember a token (prompt or generated) for the repetition penalty. */
void wrk_sampler_accept(wrk_sampler *s, int32_t id);

/** Pick the next id from logits[vocab_size] (the array may be modified). */
int32_t wrk_sampler_sample(wrk_sampler *s, float *logits);

/** The greedy choice over l[0..n): the largest value, NaN ignored, the lowest index on ties
 *  (-0 and +0 tie), 0 when no value is above -inf. wrk_sampler_sample's rule at
 *  temperature 0, and the host kernel set's wp_ops.argmax. */
int32_t wrk_sampler_argmax(const float *l, uint32_t n);

/** 1 when wrk_sampler_sample is the plain greedy argmax of the logits as given (temperature
 *  0, or so small that 1/T overflows, and no repetition penalty): the largest logit, NaN
 *  ignored, lowest id on ties, id 0 when no logit is above -inf (wp_ops.argmax computes
 *  the same on a backend). 0 otherwise or for NULL. */
int wrk_sampler_is_greedy(const wrk_sampler *s);

/** The generator on its own (documented so other ports can reproduce it). */
typedef struct wrk_rng { uint64_t s[4]; } wrk_rng;
void wrk_rng_seed(wrk_rng *r, uint64_t seed);
uint64_t wrk_rng_next(wrk_rng *r);
/** Uniform double in [0, 1) from the top 53 bits. */
double wrk_rng_uniform(wrk_rng *r);

#ifdef __cplusplus
}
#endif
#endif
