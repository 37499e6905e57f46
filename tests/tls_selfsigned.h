/* tls_selfsigned.h - a TLS server context with a throwaway self-signed
 * certificate, for programs that run both ends of a connection in memory
 * (bench/sslbench.c, tests/contract/).
 *
 * Owns: tg_selfsigned_server_ctx().  Header-only on purpose: the
 * two-libssl contract test compiles it into plugins bound to different
 * copies of libssl, and each must use its own.
 */
#ifndef TG_TLS_SELFSIGNED_H
#define TG_TLS_SELFSIGNED_H

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* A server context with a fresh P-256 key and a one-hour certificate for
 * common name cn; NULL on failure. */
static inline SSL_CTX *tg_selfsigned_server_ctx(const char *cn)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *cert = X509_new();
	SSL_CTX *ctx = NULL;
	if (!key || !cert)
		goto out;
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_set_pubkey(cert, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
	                           (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(cert, X509_get_subject_name(cert));
	if (!X509_sign(cert, key, EVP_sha256()))
		goto out;
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx && (!SSL_CTX_use_certificate(ctx, cert) || !SSL_CTX_use_PrivateKey(ctx, key))) {
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	return ctx;
}

#endif
