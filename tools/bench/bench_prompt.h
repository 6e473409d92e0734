/*
 * bench_prompt.h - a prompt whose tokenization (with the model's special tokens, as
 * worker_inference_start_ex does it) has exactly a given number of tokens.
 *
 * A long ASCII word text is tokenized (worker_tokenize), its first k ids turned back into
 * text (worker_detokenize), and the text re-tokenized; k moves by the difference until the
 * count is exact (a cut inside a word can merge differently). When no k hits the target the
 * closest text is returned and *n_tokens says its real count.
 */
#ifndef BENCH_PROMPT_H
#define BENCH_PROMPT_H

#include "worker_ext.h"

/** *text: malloc'd prompt (caller frees); *n_tokens: its token count. 0, or a CudaErrorCode
 *  (worker_last_error_detail, or msg, says why). */
int bench_prompt_make(const CudaModel *model, int target, char **text, int *n_tokens,
                      char *msg, size_t msg_size);

#endif
