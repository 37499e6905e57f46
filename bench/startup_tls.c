/* startup_tls.c - a program that uses TLS but never talks to a provider,
 * as short as one can be: it makes a client SSL object for example.com and
 * frees it.  Under the shim its SSL_free is the first hooked call, so a run
 * pays everything the shim does in a process that is not a provider's
 * client: loading, its configuration, the resolution of the caller's
 * libssl, one connection-table lookup.  bench/startup.sh times it.
 */
#include <openssl/ssl.h>

int main(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = ctx ? SSL_new(ctx) : NULL;
	if (!ssl)
		return 1;
	SSL_set_tlsext_host_name(ssl, "example.com");
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return 0;
}
