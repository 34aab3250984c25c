/* tls.c — see tls.h. */
#include "tls.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Mozilla's "intermediate" profile (server-side TLS guidelines, v5.7). */
static const char INTERMEDIATE_CIPHERS[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
static const char INTERMEDIATE_SUITES[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

#define SESSION_CACHE_SIZE 20000
#define SESSION_TIMEOUT 300 /* seconds a session (or ticket) may be resumed */

const char *tls_error(char *buf, size_t size)
{
    unsigned long e = ERR_get_error();
    if (e == 0)
        snprintf(buf, size, "%s", errno ? strerror(errno) : "unknown TLS error");
    else
        ERR_error_string_n(e, buf, size);
    ERR_clear_error();
    return buf;
}

/* ---- names ------------------------------------------------------------ */

int tls_name_matches(const char *pattern, const char *host)
{
    if (pattern[0] == '*' && pattern[1] == '.') {
        const char *dot = strchr(host, '.');
        if (dot == NULL || dot == host)
            return 0;
        return strcasecmp(pattern + 1, dot) == 0;
    }
    return strcasecmp(pattern, host) == 0;
}

const struct tls_cert *tls_server_pick(const struct tls_server *t, const char *name)
{
    for (size_t i = 0; i < t->ncerts; i++)
        for (size_t k = 0; k < t->certs[i].nnames; k++)
            if (t->certs[i].names[k][0] != '*' && tls_name_matches(t->certs[i].names[k], name))
                return &t->certs[i];
    for (size_t i = 0; i < t->ncerts; i++)
        for (size_t k = 0; k < t->certs[i].nnames; k++)
            if (t->certs[i].names[k][0] == '*' && tls_name_matches(t->certs[i].names[k], name))
                return &t->certs[i];
    return &t->certs[0];
}

static int add_name(struct tls_cert *c, const char *name, size_t len)
{
    char **grown = realloc(c->names, (c->nnames + 1) * sizeof(*grown));
    char *copy = malloc(len + 1);
    if (grown == NULL || copy == NULL) {
        free(copy);
        if (grown)
            c->names = grown;
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        copy[i] = (char)tolower((unsigned char)name[i]);
    copy[len] = '\0';
    c->names = grown;
    c->names[c->nnames++] = copy;
    return 0;
}

/* The DNS names of the certificate: its subjectAltName, or else its CN. */
static int collect_names(struct tls_cert *c)
{
    X509 *leaf = SSL_CTX_get0_certificate(c->ctx);
    GENERAL_NAMES *sans = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    int rc = 0;
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        if (g->type == GEN_DNS)
            rc |= add_name(c, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
                           (size_t)ASN1_STRING_length(g->d.dNSName));
    }
    GENERAL_NAMES_free(sans);
    if (c->nnames == 0) {
        char cn[256];
        int n = X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof(cn));
        if (n > 0)
            rc |= add_name(c, cn, (size_t)n);
    }
    return rc;
}

/* ---- callbacks ---------------------------------------------------------- */

static struct tls_server *server_of(SSL *ssl)
{
    return SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
}

static int on_servername(SSL *ssl, int *alert, void *arg)
{
    struct tls_server *t = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    (void)alert;
    if (name) {
        const struct tls_cert *c = tls_server_pick(t, name);
        if (c->ctx != SSL_get_SSL_CTX(ssl))
            SSL_set_SSL_CTX(ssl, c->ctx);
    }
    return SSL_TLSEXT_ERR_OK;
}

/* ALPN by the server's preference; no common protocol means no ALPN. */
static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    struct tls_server *t = arg;
    (void)ssl;
    for (size_t i = 0; i < t->alpn_len; i += 1 + t->alpn[i]) {
        for (unsigned int k = 0; k < inlen; k += 1u + in[k]) {
            if (in[k] == t->alpn[i] && k + 1u + in[k] <= inlen &&
                memcmp(in + k + 1, t->alpn + i + 1, in[k]) == 0) {
                *out = t->alpn + i + 1;
                *outlen = t->alpn[i];
                return SSL_TLSEXT_ERR_OK;
            }
        }
    }
    return SSL_TLSEXT_ERR_NOACK;
}

static int ticket_mac_key(EVP_MAC_CTX *hctx, unsigned char *key)
{
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, 32);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"sha256", 0);
    params[2] = OSSL_PARAM_construct_end();
    return EVP_MAC_CTX_set_params(hctx, params) == 1 ? 0 : -1;
}

/* Tickets are sealed with the current key and opened with the current or
 * the previous one (then renewed), so a rotation never breaks resumption. */
static int on_ticket(SSL *ssl, unsigned char *key_name, unsigned char *iv, EVP_CIPHER_CTX *cctx,
                     EVP_MAC_CTX *hctx, int enc)
{
    struct tls_server *t = server_of(ssl);
    if (enc) {
        struct tls_ticket_key *k = &t->keys[0];
        memcpy(key_name, k->name, 16);
        if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1 ||
            EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1 ||
            ticket_mac_key(hctx, k->hmac) != 0)
            return -1;
        return 1;
    }
    for (int i = 0; i < 2; i++) {
        struct tls_ticket_key *k = &t->keys[i];
        if (memcmp(key_name, k->name, 16) != 0)
            continue;
        if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1 ||
            ticket_mac_key(hctx, k->hmac) != 0)
            return -1;
        return i == 0 ? 1 : 2;
    }
    return 0; /* unknown key: a full handshake */
}

/* ---- server --------------------------------------------------------------- */

int tls_ticket_key_new(struct tls_ticket_key *k)
{
    return RAND_bytes(k->name, sizeof(k->name)) == 1 && RAND_bytes(k->aes, sizeof(k->aes)) == 1 &&
                   RAND_bytes(k->hmac, sizeof(k->hmac)) == 1
               ? 0
               : -1;
}

void tls_server_rotate_keys(struct tls_server *t)
{
    struct tls_ticket_key fresh;
    if (tls_ticket_key_new(&fresh) != 0)
        return; /* keep the current keys rather than have none */
    t->keys[1] = t->keys[0];
    t->keys[0] = fresh;
    OPENSSL_cleanse(&fresh, sizeof(fresh));
}

void tls_server_set_keys(struct tls_server *t, const struct tls_ticket_key keys[2])
{
    memcpy(t->keys, keys, sizeof(t->keys));
}

/* Builds the SSL_CTX of one certificate file. */
static int load_cert(struct tls_server *t, const char *path, const struct tls_settings *s,
                     char *err, size_t err_size)
{
    char why[256];
    struct tls_cert *grown = realloc(t->certs, (t->ncerts + 1) * sizeof(*grown));
    if (grown == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    t->certs = grown;
    struct tls_cert *c = &t->certs[t->ncerts];
    memset(c, 0, sizeof(*c));
    c->path = strdup(path);
    c->ctx = SSL_CTX_new(TLS_server_method());
    t->ncerts++;
    if (c->path == NULL || c->ctx == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    SSL_CTX *ctx = c->ctx;
    uint64_t options = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                       SSL_OP_IGNORE_UNEXPECTED_EOF;
    if (!s->prefer_client_ciphers)
        options |= SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA;
    if (s->no_tickets)
        options |= SSL_OP_NO_TICKET;
    SSL_CTX_set_options(ctx, options);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (!SSL_CTX_set_min_proto_version(ctx, s->min_version ? s->min_version : TLS1_2_VERSION) ||
        !SSL_CTX_set_max_proto_version(ctx, s->max_version)) {
        snprintf(err, err_size, "invalid TLS version range");
        return -1;
    }
    if (!SSL_CTX_set_cipher_list(ctx, s->ciphers ? s->ciphers : INTERMEDIATE_CIPHERS)) {
        snprintf(err, err_size, "ciphers '%s': no usable cipher (%s)",
                 s->ciphers ? s->ciphers : "(default)", tls_error(why, sizeof(why)));
        return -1;
    }
    if (!SSL_CTX_set_ciphersuites(ctx, s->ciphersuites ? s->ciphersuites : INTERMEDIATE_SUITES)) {
        snprintf(err, err_size, "ciphersuites '%s': invalid (%s)",
                 s->ciphersuites ? s->ciphersuites : "(default)", tls_error(why, sizeof(why)));
        return -1;
    }
    if (s->curves && !SSL_CTX_set1_groups_list(ctx, s->curves)) {
        snprintf(err, err_size, "curves '%s': invalid (%s)", s->curves, tls_error(why, sizeof(why)));
        return -1;
    }
    SSL_CTX_set_dh_auto(ctx, 1);
    if (SSL_CTX_use_certificate_chain_file(ctx, path) != 1) {
        snprintf(err, err_size, "%s: cannot load a certificate chain: %s", path,
                 tls_error(why, sizeof(why)));
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM) != 1) {
        snprintf(err, err_size, "%s: cannot load a private key (the PEM must hold the "
                 "certificate chain and its key): %s", path, tls_error(why, sizeof(why)));
        return -1;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, err_size, "%s: the private key does not match the certificate", path);
        ERR_clear_error();
        return -1;
    }
    if (collect_names(c) != 0) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }

    SSL_CTX_set_app_data(ctx, t);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"wscale", 6);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx, SESSION_CACHE_SIZE);
    SSL_CTX_set_timeout(ctx, SESSION_TIMEOUT);
    SSL_CTX_set_num_tickets(ctx, 1);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket);
    SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
    SSL_CTX_set_tlsext_servername_arg(ctx, t);
    SSL_CTX_set_alpn_select_cb(ctx, on_alpn, t);
    return 0;
}

static int pem_file(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n > 4 && strcmp(e->d_name + n - 4, ".pem") == 0;
}

/* A file, or every *.pem of a directory in name order. */
static int load_path(struct tls_server *t, const char *path, const struct tls_settings *s,
                     char *err, size_t err_size)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return load_cert(t, path, s, err, err_size);
    struct dirent **entries;
    int n = scandir(path, &entries, pem_file, alphasort);
    if (n < 0) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = n == 0 ? -1 : 0;
    if (n == 0)
        snprintf(err, err_size, "%s: no *.pem file in this directory", path);
    for (int i = 0; i < n; i++) {
        char file[4096];
        snprintf(file, sizeof(file), "%s/%s", path, entries[i]->d_name);
        if (rc == 0)
            rc = load_cert(t, file, s, err, err_size);
        free(entries[i]);
    }
    free(entries);
    return rc;
}

/* Turns "h2,http/1.1" into ALPN's wire format. */
static int alpn_wire(struct tls_server *t, const char *list, char *err, size_t err_size)
{
    t->alpn_len = 0;
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0 || n > 255 || t->alpn_len + 1 + n > sizeof(t->alpn)) {
            snprintf(err, err_size, "alpn '%s': expected names separated by commas", list);
            return -1;
        }
        t->alpn[t->alpn_len++] = (unsigned char)n;
        memcpy(t->alpn + t->alpn_len, p, n);
        t->alpn_len += n;
        p += n + (end ? 1 : 0);
    }
    return 0;
}

struct tls_server *tls_server_new(char *const *paths, size_t npaths, const struct tls_settings *s,
                                  char *err, size_t err_size)
{
    struct tls_server *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    if (npaths == 0) {
        snprintf(err, err_size, "'ssl' needs at least one 'crt FILE|DIR'");
        goto fail;
    }
    if (tls_ticket_key_new(&t->keys[0]) != 0 || tls_ticket_key_new(&t->keys[1]) != 0) {
        snprintf(err, err_size, "cannot generate ticket keys");
        goto fail;
    }
    if (alpn_wire(t, s->alpn ? s->alpn : "http/1.1", err, err_size) != 0)
        goto fail;
    for (size_t i = 0; i < npaths; i++)
        if (load_path(t, paths[i], s, err, err_size) != 0)
            goto fail;
    return t;
fail:
    tls_server_free(t);
    return NULL;
}

SSL *tls_server_ssl(struct tls_server *t, int fd)
{
    SSL *ssl = SSL_new(t->certs[0].ctx);
    if (ssl == NULL)
        return NULL;
    if (SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_accept_state(ssl);
    return ssl;
}

void tls_server_free(struct tls_server *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->ncerts; i++) {
        SSL_CTX_free(t->certs[i].ctx);
        free(t->certs[i].path);
        for (size_t k = 0; k < t->certs[i].nnames; k++)
            free(t->certs[i].names[k]);
        free(t->certs[i].names);
    }
    free(t->certs);
    OPENSSL_cleanse(t->keys, sizeof(t->keys));
    free(t);
}

/* ---- a self-signed certificate --------------------------------------------- */

static int add_ext(X509 *cert, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    int ok = ext && X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

int tls_make_self_signed(const char *path, char *err, size_t err_size)
{
    char why[256];
    int rc = -1;
    FILE *f = NULL;
    X509 *cert = X509_new();
    EVP_PKEY *key = EVP_EC_gen("P-256");
    unsigned char serial[16];
    if (cert == NULL || key == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
        goto out;
    serial[0] &= 0x7f; /* a positive serial number */
    BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    int serial_ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    X509_NAME *name = X509_get_subject_name(cert);
    if (!serial_ok || X509_set_version(cert, 2) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(cert), 30L * 24 * 3600) == NULL ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
                                   -1, -1, 0) != 1 ||
        X509_set_issuer_name(cert, name) != 1 || X509_set_pubkey(cert, key) != 1 ||
        add_ext(cert, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1") != 0 ||
        add_ext(cert, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
        add_ext(cert, NID_key_usage, "critical,digitalSignature") != 0 ||
        add_ext(cert, NID_ext_key_usage, "serverAuth") != 0 ||
        X509_sign(cert, key, EVP_sha256()) == 0)
        goto out;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
        if (fd >= 0)
            close(fd);
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (PEM_write_X509(f, cert) != 1 || PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1)
        goto out;
    rc = 0;
out:
    if (rc != 0)
        snprintf(err, err_size, "cannot make a self-signed certificate: %s", tls_error(why, sizeof(why)));
done:
    if (f && fclose(f) != 0 && rc == 0) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

/* ---- client --------------------------------------------------------------- */

SSL_CTX *tls_client_ctx_new(int verify, const char *ca_file, char *err, size_t err_size)
{
    char why[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    static const unsigned char http11[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(ctx, http11, sizeof(http11) - 1);
    if (verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        if (ca_file == NULL || SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
            snprintf(err, err_size, "%s: cannot load CA certificates: %s",
                     ca_file ? ca_file : "(no ca-file)", tls_error(why, sizeof(why)));
            SSL_CTX_free(ctx);
            return NULL;
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    return ctx;
}

SSL *tls_client_ssl(SSL_CTX *ctx, int fd, const char *sni, const char *check_name)
{
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL)
        return NULL;
    if (SSL_set_fd(ssl, fd) != 1 || (sni && *sni && SSL_set_tlsext_host_name(ssl, sni) != 1)) {
        SSL_free(ssl);
        return NULL;
    }
    if (check_name && SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER) {
        X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
        /* An IP address is checked as one; anything else as a host name. */
        if (X509_VERIFY_PARAM_set1_ip_asc(param, check_name) != 1 &&
            SSL_set1_host(ssl, check_name) != 1) {
            SSL_free(ssl);
            return NULL;
        }
    }
    SSL_set_connect_state(ssl);
    return ssl;
}

/* ---- I/O ------------------------------------------------------------------ */

static ssize_t result(SSL *ssl, int rc)
{
    switch (SSL_get_error(ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        return TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    default:
        /* After a failure OpenSSL must not send anything more (SSL_shutdown
         * included): a quiet shutdown only marks the session as ended. */
        SSL_set_quiet_shutdown(ssl, 1);
        return TLS_FAILED;
    }
}

ssize_t tls_read(SSL *ssl, void *buf, size_t len)
{
    ERR_clear_error();
    int n = SSL_read(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    return n > 0 ? n : result(ssl, n);
}

ssize_t tls_write(SSL *ssl, const void *buf, size_t len)
{
    ERR_clear_error();
    int n = SSL_write(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    return n > 0 ? n : result(ssl, n);
}

int tls_handshake(SSL *ssl)
{
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl);
    return rc == 1 ? 1 : (int)result(ssl, rc);
}

void tls_close_notify(SSL *ssl)
{
    if (!(SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN)) {
        ERR_clear_error();
        SSL_shutdown(ssl);
        ERR_clear_error();
    }
}

void tls_free(SSL *ssl)
{
    if (SSL_is_init_finished(ssl))
        tls_close_notify(ssl);
    SSL_free(ssl);
}
