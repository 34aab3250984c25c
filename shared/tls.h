/* tls.h — TLS with OpenSSL, the way security teams expect it.
 *
 * Server side: certificates from PEM files (chain and key in one file) or
 * directories of them, one SSL_CTX each; SNI picks the exact name, then a
 * wildcard, then the first certificate. Out of the box, Mozilla's
 * "intermediate" profile: TLS 1.2 and 1.3 only, AEAD ciphers with forward
 * secrecy, no compression, no renegotiation, the server's cipher order
 * (ChaCha20 first for clients that prefer it). Session resumption through a
 * session cache and tickets whose keys rotate. Buffers are released while a
 * connection is idle (SSL_MODE_RELEASE_BUFFERS).
 *
 * Client side (to servers): TLS 1.2+, peer verification against a CA file
 * with the host name checked, or none when asked.
 *
 * The I/O helpers map OpenSSL's non-blocking results onto what an event loop
 * needs to know: wait for readability, or for writability. */
#ifndef WSCALE_TLS_H
#define WSCALE_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <sys/types.h>

/* What a bind line (or the global defaults) asks of a TLS server. */
struct tls_settings {
    char *ciphers;      /* TLS 1.2: an OpenSSL cipher list; NULL: intermediate */
    char *ciphersuites; /* TLS 1.3; NULL: intermediate */
    char *curves;       /* key-exchange groups; NULL: OpenSSL's */
    char *alpn;         /* comma-separated, in preference order; NULL: "http/1.1" */
    int min_version;    /* TLS1_2_VERSION or TLS1_3_VERSION; 0: 1.2 */
    int max_version;    /* 0: the highest */
    int no_tickets;     /* resumption by session cache only */
    int prefer_client_ciphers;
};

struct tls_cert {
    char *path;
    SSL_CTX *ctx;
    char **names;       /* DNS names it is valid for (SAN, else CN), lower case */
    size_t nnames;
};

struct tls_ticket_key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
};

struct tls_server {
    struct tls_cert *certs; /* certs[0] is the default */
    size_t ncerts;
    unsigned char alpn[256]; /* the ALPN list in wire format */
    size_t alpn_len;
    struct tls_ticket_key keys[2]; /* [0] issues tickets, [1] still accepted */
};

/* Builds a server from certificate paths (files, or directories whose *.pem
 * files are all loaded, in name order). Returns NULL with a message naming
 * the file and the problem in err. */
struct tls_server *tls_server_new(char *const *paths, size_t npaths, const struct tls_settings *s,
                                  char *err, size_t err_size);

/* A new server-side SSL for an accepted socket, or NULL. */
SSL *tls_server_ssl(struct tls_server *t, int fd);

/* New ticket keys; the current ones are still accepted until the next
 * rotation. Call it regularly (hourly). */
void tls_server_rotate_keys(struct tls_server *t);

/* Ticket keys from elsewhere: processes that share them resume each
 * other's sessions. keys[0] issues tickets, keys[1] is still accepted. */
void tls_server_set_keys(struct tls_server *t, const struct tls_ticket_key keys[2]);

/* Fresh random ticket key material. Returns 0, or -1 if the RNG failed. */
int tls_ticket_key_new(struct tls_ticket_key *k);

void tls_server_free(struct tls_server *t);

/* The certificate SNI name `name` selects (exact, then wildcard, else the
 * default). */
const struct tls_cert *tls_server_pick(const struct tls_server *t, const char *name);

/* True if a certificate name (possibly "*.example.com") covers `host`. A
 * wildcard covers exactly one leftmost label. Case-insensitive. */
int tls_name_matches(const char *pattern, const char *host);

/* Writes a new self-signed certificate and its key (ECDSA P-256, valid 30
 * days, for localhost, 127.0.0.1 and ::1) to path, readable by the owner
 * only. Returns 0, or -1 with err. For demos: browsers will warn. */
int tls_make_self_signed(const char *path, char *err, size_t err_size);

/* A client context: verify the peer against ca_file, or not at all. */
SSL_CTX *tls_client_ctx_new(int verify, const char *ca_file, char *err, size_t err_size);

/* A new client-side SSL for a connected socket: SNI `sni` (or none) and,
 * when the context verifies, the peer must be valid for `check_name` (a
 * host name or an IP address). NULL if out of memory. */
SSL *tls_client_ssl(SSL_CTX *ctx, int fd, const char *sni, const char *check_name);

/* Results of the I/O helpers besides a byte count. */
#define TLS_WANT_READ (-1)  /* retry when the socket is readable */
#define TLS_WANT_WRITE (-2) /* retry when the socket is writable */
#define TLS_FAILED (-3)     /* the connection is broken (see tls_error) */

/* Reads decrypted bytes: > 0, 0 at the peer's close (close_notify or a bare
 * TCP close), or TLS_*. Drives the handshake on first use. */
ssize_t tls_read(SSL *ssl, void *buf, size_t len);

/* Writes: the bytes taken (partial writes happen), or TLS_*. */
ssize_t tls_write(SSL *ssl, const void *buf, size_t len);

/* Advances the handshake: 1 when done, or TLS_*. */
int tls_handshake(SSL *ssl);

/* Sends close_notify once; the caller then shuts the socket for writing. */
void tls_close_notify(SSL *ssl);

/* Ends a TLS session before its socket is closed: close_notify if the
 * handshake completed (RFC 8446 6.1), then frees it. A session shut down
 * this way stays in the cache for resumption; one that failed is not
 * resumed. */
void tls_free(SSL *ssl);

/* The last OpenSSL error as text (clears the queue). */
const char *tls_error(char *buf, size_t size);

#endif
