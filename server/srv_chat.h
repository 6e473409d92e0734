/*
 * srv_chat.h - OpenAI chat messages rendered into one prompt with the model's chat template.
 * We do not run Jinja: the family is recognised from marker strings in
 * tokenizer.chat_template and rendered by hand. Families:
 *   Llama 3      (<|start_header_id|>)  <|start_header_id|>role<|end_header_id|>\n\ntext<|eot_id|>
 *   ChatML/Qwen  (<|im_start|>)         <|im_start|>role\ntext<|im_end|>\n
 *   Llama 2      ([INST])               [INST] <<SYS>>\nsys\n<</SYS>>\n\nuser [/INST] reply </s><s>
 *   plain        (no template)          "System: ...\nUser: ...\nAssistant:" (documented fallback)
 * Any other template is refused with a clear 400 message. BOS is never written: the tokenizer
 * adds it (add_special) as the model's metadata says.
 */
#ifndef SRV_CHAT_H
#define SRV_CHAT_H

#include <stddef.h>
#include <jansson.h>

typedef enum {
    SRV_CHAT_PLAIN = 0,
    SRV_CHAT_LLAMA3,
    SRV_CHAT_CHATML,
    SRV_CHAT_LLAMA2,
    SRV_CHAT_UNSUPPORTED
} srv_chat_family;

/** Family of a tokenizer.chat_template (NULL or "" -> SRV_CHAT_PLAIN). */
srv_chat_family srv_chat_detect(const char *tmpl);

/** Short name of a family ("llama3", "chatml", "llama2", "plain", "unsupported"). */
const char *srv_chat_family_name(srv_chat_family f);

/**
 * Render body["messages"] (array of {role: system|developer|user|assistant, content: string or
 * [{type:"text", text}]}) for the template; the text ends with the assistant header so the
 * model continues as the assistant. Returns a malloc'd string, or NULL with msg (a 400).
 */
char *srv_chat_render(const char *tmpl, json_t *messages, char *msg, size_t cap);

#endif
