/*
 * srv_callback.h - the orchestrator's ready callback (M0-W-1101): one HTTP/1.1 POST of a
 * small JSON body over a plain TCP socket. http:// only; every step has a timeout.
 */
#ifndef SRV_CALLBACK_H
#define SRV_CALLBACK_H

#include <stddef.h>

/** POST body (JSON text) to url. 0 when the answer is 2xx, else -1 with msg. */
int srv_http_post(const char *url, const char *body, unsigned timeout_s, char *msg, size_t cap);

#endif
