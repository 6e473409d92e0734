/*
 * srv_chat.c - chat template families rendered by hand (see srv_chat.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_chat.h"

srv_chat_family srv_chat_detect(const char *tmpl)
{
    if (!tmpl || !*tmpl) return SRV_CHAT_PLAIN;
    if (strstr(tmpl, "<|start_header_id|>")) return SRV_CHAT_LLAMA3;
    if (strstr(tmpl, "<|im_start|>")) return SRV_CHAT_CHATML;
    if (strstr(tmpl, "[INST]")) return SRV_CHAT_LLAMA2;
    return SRV_CHAT_UNSUPPORTED;
}

const char *srv_chat_family_name(srv_chat_family f)
{
    static const char *const names[] = {"plain", "llama3", "chatml", "llama2", "unsupported"};
    return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "unsupported";
}

/* Content: a string, or an array of parts of which only {type:"text"} is supported.
 * Returns a malloc'd copy of the text. */
static char *message_text(json_t *content, size_t idx, char *msg, size_t cap)
{
    if (json_is_string(content)) return strdup(json_string_value(content));
    if (json_is_array(content)) {
        size_t i, len = 0;
        json_t *part;
        char *out = calloc(1, 1);
        json_array_foreach(content, i, part) {
            json_t *type = json_object_get(part, "type");
            json_t *text = json_object_get(part, "text");
            if (!json_is_string(type) || strcmp(json_string_value(type), "text") != 0 ||
                !json_is_string(text)) {
                snprintf(msg, cap, "messages[%zu].content[%zu]: only {\"type\":\"text\",\"text\":"
                         "...} parts are supported", idx, i);
                free(out);
                return NULL;
            }
            size_t n = strlen(json_string_value(text));
            char *grown = out ? realloc(out, len + n + 1) : NULL;
            if (!grown) {
                free(out);
                snprintf(msg, cap, "out of memory");
                return NULL;
            }
            out = grown;
            memcpy(out + len, json_string_value(text), n + 1);
            len += n;
        }
        return out;
    }
    snprintf(msg, cap, "messages[%zu].content must be a string or an array of text parts", idx);
    return NULL;
}

/* Appends to a memstream; the FILE owns the growing buffer. */
static void render_one(FILE *f, srv_chat_family fam, const char *role, const char *text,
                       int *llama2_open, int *first_user)
{
    switch (fam) {
    case SRV_CHAT_LLAMA3:
        fprintf(f, "<|start_header_id|>%s<|end_header_id|>\n\n%s<|eot_id|>", role, text);
        break;
    case SRV_CHAT_CHATML:
        fprintf(f, "<|im_start|>%s\n%s<|im_end|>\n", role, text);
        break;
    case SRV_CHAT_LLAMA2:
        if (strcmp(role, "system") == 0) {
            /* Llama 2 folds the system prompt into the first [INST] block. */
            fprintf(f, "[INST] <<SYS>>\n%s\n<</SYS>>\n\n", text);
            *llama2_open = 1;
        } else if (strcmp(role, "user") == 0) {
            if (!*llama2_open) fputs(*first_user ? "[INST] " : "<s>[INST] ", f);
            fprintf(f, "%s [/INST]", text);
            *llama2_open = 0;
            *first_user = 0;
        } else {
            fprintf(f, " %s </s>", text);
        }
        break;
    default:
        break;   /* plain is rendered by the caller */
    }
}

char *srv_chat_render(const char *tmpl, json_t *messages, char *msg, size_t cap)
{
    srv_chat_family fam = srv_chat_detect(tmpl);
    char *buf = NULL;
    size_t len = 0, i;
    json_t *m;
    FILE *f;
    int llama2_open = 0, first_user = 1;

    if (fam == SRV_CHAT_UNSUPPORTED) {
        snprintf(msg, cap, "the model's chat template is not one this server can render "
                 "(supported: Llama 3, ChatML/Qwen, Llama 2); use /v1/completions with a "
                 "prompt you format yourself");
        return NULL;
    }
    if (!json_is_array(messages) || json_array_size(messages) == 0) {
        snprintf(msg, cap, "field 'messages' must be a non-empty array");
        return NULL;
    }
    f = open_memstream(&buf, &len);
    if (!f) {
        snprintf(msg, cap, "out of memory");
        return NULL;
    }
    json_array_foreach(messages, i, m) {
        json_t *role = json_object_get(m, "role");
        const char *r;
        char *text;
        if (!json_is_object(m) || !json_is_string(role)) {
            snprintf(msg, cap, "messages[%zu] must be an object with a string 'role'", i);
            goto fail;
        }
        r = json_string_value(role);
        if (strcmp(r, "developer") == 0) r = "system";
        if (strcmp(r, "system") != 0 && strcmp(r, "user") != 0 && strcmp(r, "assistant") != 0) {
            snprintf(msg, cap, "messages[%zu].role '%.40s' is not supported (system, developer, "
                     "user, assistant)", i, r);
            goto fail;
        }
        text = message_text(json_object_get(m, "content"), i, msg, cap);
        if (!text) goto fail;
        if (fam == SRV_CHAT_PLAIN) {
            /* Plain fallback: "System: ...", "User: ...", "Assistant: ..." lines. */
            fprintf(f, "%s: %s\n", strcmp(r, "system") == 0 ? "System" :
                    strcmp(r, "user") == 0 ? "User" : "Assistant", text);
        } else {
            render_one(f, fam, r, text, &llama2_open, &first_user);
        }
        free(text);
    }
    switch (fam) {
    case SRV_CHAT_LLAMA3: fputs("<|start_header_id|>assistant<|end_header_id|>\n\n", f); break;
    case SRV_CHAT_CHATML: fputs("<|im_start|>assistant\n", f); break;
    case SRV_CHAT_LLAMA2: if (llama2_open) fputs(" [/INST]", f); break;
    default: fputs("Assistant:", f); break;
    }
    if (fclose(f) != 0 || !buf) {
        free(buf);
        snprintf(msg, cap, "out of memory");
        return NULL;
    }
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}
