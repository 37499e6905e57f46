/* lazylib_api.c - the library functions the shim calls, loaded on first
 * call (lazylib.h says when and why).
 *
 * Owns: for each library, the list of the functions libtokenguard.so calls
 * and one forwarder per function, with the real header's name and
 * prototype: the first call of any of a library's forwarders loads it, every
 * call goes on to the library's own function.  Each forwarder's failure
 * value, used only when its library could not be loaded, is the one its
 * library gives for the same call when it cannot do it, so callers need no
 * second error path.
 *
 * Linked into libtokenguard.so only; the CLI and the unit tests link the
 * libraries themselves.  The forwarders are hidden (-fvisibility=hidden and
 * shim/exports.map): they bind the shim's own calls and nobody else's.
 */
#include <errno.h>
#include <pthread.h>

#include <brotli/decode.h>
#include <lmdb.h>
#include <nghttp2/nghttp2.h>
#include <zlib.h>
#include <zstd.h>

#include "lazylib.h"

/* One library: its function list FUNCS(X), the table its forwarders call
 * through, and NAME_ready(), 1 once it is loaded (0: it could not be).
 * NEEDS is another library's _ready(), or 1.  Calls go through
 * FN(NAME, function), typed by the library header's own prototype. */
#define FN_INDEX(f) i_##f,
#define FN_NAME(f) #f,
#define FN(lib, f) ((__typeof__(f) *)lib##_fns[i_##f])
#define LAZY_LIBRARY(lib, soname, FUNCS, needs, consequence)                            \
	enum { FUNCS(FN_INDEX) lib##_count };                                           \
	static const char *const lib##_names[] = { FUNCS(FN_NAME) };                    \
	static void *lib##_fns[lib##_count];                                            \
	static struct tg_lazylib lib = {                                                \
		soname, lib##_names, lib##_fns, lib##_count, consequence, 0,            \
	};                                                                              \
	static pthread_once_t lib##_once = PTHREAD_ONCE_INIT;                           \
	static void lib##_load(void)                                                    \
	{                                                                               \
		if (needs)                                                              \
			tg_lazylib_load(&lib);                                          \
	}                                                                               \
	static int lib##_ready(void)                                                    \
	{                                                                               \
		pthread_once(&lib##_once, lib##_load);                                  \
		return lib.ok;                                                          \
	}

/* ---- zlib: gzip and deflate bodies, AWS event stream and spool CRCs. */

#define ZLIB_FUNCTIONS(X) X(inflateInit2_) X(inflate) X(inflateReset) X(inflateEnd) X(crc32)
LAZY_LIBRARY(zlib, "libz.so.1", ZLIB_FUNCTIONS, 1,
             "gzip and deflate responses and AWS event streams are not read "
             "(their calls are recorded with usage unknown)")

int inflateInit2_(z_streamp strm, int windowBits, const char *version, int stream_size)
{
	return zlib_ready() ? FN(zlib, inflateInit2_)(strm, windowBits, version, stream_size) : Z_MEM_ERROR;
}

int inflate(z_streamp strm, int flush)
{
	return zlib_ready() ? FN(zlib, inflate)(strm, flush) : Z_STREAM_ERROR;
}

int inflateReset(z_streamp strm)
{
	return zlib_ready() ? FN(zlib, inflateReset)(strm) : Z_STREAM_ERROR;
}

int inflateEnd(z_streamp strm)
{
	return zlib_ready() ? FN(zlib, inflateEnd)(strm) : Z_STREAM_ERROR;
}

/* crc32 has no failure value.  Without zlib it answers 0, which no check
 * accepts: an AWS event stream stops at its first prelude.  The ledger's
 * spool never gets here without zlib: LMDB is loaded only with it, and
 * the ledger writes or reads no spool before LMDB opened. */
uLong crc32(uLong crc, const Bytef *buf, uInt len)
{
	return zlib_ready() ? FN(zlib, crc32)(crc, buf, len) : 0;
}

/* ---- LMDB: the ledger (with zlib, see above). */

#define LMDB_FUNCTIONS(X)                                                                   \
	X(mdb_env_create) X(mdb_env_open) X(mdb_env_close) X(mdb_env_info)                  \
	X(mdb_env_set_assert) X(mdb_env_set_mapsize) X(mdb_env_set_maxdbs)                  \
	X(mdb_reader_check) X(mdb_txn_begin) X(mdb_txn_commit) X(mdb_txn_abort)             \
	X(mdb_dbi_open) X(mdb_stat) X(mdb_get) X(mdb_put) X(mdb_del)                        \
	X(mdb_cursor_open) X(mdb_cursor_close) X(mdb_cursor_get)
LAZY_LIBRARY(lmdb, "liblmdb.so.0", LMDB_FUNCTIONS, zlib_ready(), NULL)

/* Every LMDB function but mdb_env_create sees only objects a loaded LMDB
 * made, so its failure value is never seen in practice; ELIBACC is the
 * one that says what happened. */
#define LMDB_UNLOADED ELIBACC

/* Every LMDB call starts from an environment, and mdb_env_create is the
 * only one that makes one: the others see an object only a loaded LMDB
 * made.  ELIBACC ("cannot access a needed shared library") becomes the
 * ledger's TG_ENOLIB, whose warning is the one the user sees. */
int mdb_env_create(MDB_env **env)
{
	if (!lmdb_ready()) {
		*env = NULL;
		return ELIBACC;
	}
	return FN(lmdb, mdb_env_create)(env);
}

int mdb_env_open(MDB_env *env, const char *path, unsigned int flags, mdb_mode_t mode)
{
	return lmdb_ready() ? FN(lmdb, mdb_env_open)(env, path, flags, mode) : LMDB_UNLOADED;
}

void mdb_env_close(MDB_env *env)
{
	if (lmdb_ready())
		FN(lmdb, mdb_env_close)(env);
}

int mdb_env_info(MDB_env *env, MDB_envinfo *stat)
{
	return lmdb_ready() ? FN(lmdb, mdb_env_info)(env, stat) : LMDB_UNLOADED;
}

int mdb_env_set_assert(MDB_env *env, MDB_assert_func *func)
{
	return lmdb_ready() ? FN(lmdb, mdb_env_set_assert)(env, func) : LMDB_UNLOADED;
}

int mdb_env_set_mapsize(MDB_env *env, size_t size)
{
	return lmdb_ready() ? FN(lmdb, mdb_env_set_mapsize)(env, size) : LMDB_UNLOADED;
}

int mdb_env_set_maxdbs(MDB_env *env, MDB_dbi dbs)
{
	return lmdb_ready() ? FN(lmdb, mdb_env_set_maxdbs)(env, dbs) : LMDB_UNLOADED;
}

int mdb_reader_check(MDB_env *env, int *dead)
{
	return lmdb_ready() ? FN(lmdb, mdb_reader_check)(env, dead) : LMDB_UNLOADED;
}

int mdb_txn_begin(MDB_env *env, MDB_txn *parent, unsigned int flags, MDB_txn **txn)
{
	return lmdb_ready() ? FN(lmdb, mdb_txn_begin)(env, parent, flags, txn) : LMDB_UNLOADED;
}

int mdb_txn_commit(MDB_txn *txn)
{
	return lmdb_ready() ? FN(lmdb, mdb_txn_commit)(txn) : LMDB_UNLOADED;
}

void mdb_txn_abort(MDB_txn *txn)
{
	if (lmdb_ready())
		FN(lmdb, mdb_txn_abort)(txn);
}

int mdb_dbi_open(MDB_txn *txn, const char *name, unsigned int flags, MDB_dbi *dbi)
{
	return lmdb_ready() ? FN(lmdb, mdb_dbi_open)(txn, name, flags, dbi) : LMDB_UNLOADED;
}

int mdb_stat(MDB_txn *txn, MDB_dbi dbi, MDB_stat *stat)
{
	return lmdb_ready() ? FN(lmdb, mdb_stat)(txn, dbi, stat) : LMDB_UNLOADED;
}

int mdb_get(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data)
{
	return lmdb_ready() ? FN(lmdb, mdb_get)(txn, dbi, key, data) : LMDB_UNLOADED;
}

int mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned int flags)
{
	return lmdb_ready() ? FN(lmdb, mdb_put)(txn, dbi, key, data, flags) : LMDB_UNLOADED;
}

int mdb_del(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data)
{
	return lmdb_ready() ? FN(lmdb, mdb_del)(txn, dbi, key, data) : LMDB_UNLOADED;
}

int mdb_cursor_open(MDB_txn *txn, MDB_dbi dbi, MDB_cursor **cursor)
{
	return lmdb_ready() ? FN(lmdb, mdb_cursor_open)(txn, dbi, cursor) : LMDB_UNLOADED;
}

void mdb_cursor_close(MDB_cursor *cursor)
{
	if (lmdb_ready())
		FN(lmdb, mdb_cursor_close)(cursor);
}

int mdb_cursor_get(MDB_cursor *cursor, MDB_val *key, MDB_val *data, MDB_cursor_op op)
{
	return lmdb_ready() ? FN(lmdb, mdb_cursor_get)(cursor, key, data, op) : LMDB_UNLOADED;
}

/* ---- libbrotlidec: br bodies. */

#define BROTLI_FUNCTIONS(X) \
	X(BrotliDecoderCreateInstance) X(BrotliDecoderDecompressStream) X(BrotliDecoderDestroyInstance)
LAZY_LIBRARY(brotli, "libbrotlidec.so.1", BROTLI_FUNCTIONS, 1,
             "br-encoded responses are not read (their calls are recorded with usage unknown)")

BrotliDecoderState *BrotliDecoderCreateInstance(brotli_alloc_func alloc_func, brotli_free_func free_func,
                                                void *opaque)
{
	return brotli_ready() ? FN(brotli, BrotliDecoderCreateInstance)(alloc_func, free_func, opaque) : NULL;
}

BrotliDecoderResult BrotliDecoderDecompressStream(BrotliDecoderState *state, size_t *available_in,
                                                  const uint8_t **next_in, size_t *available_out,
                                                  uint8_t **next_out, size_t *total_out)
{
	return brotli_ready() ? FN(brotli, BrotliDecoderDecompressStream)(state, available_in, next_in,
	                                                                   available_out, next_out, total_out)
	                      : BROTLI_DECODER_RESULT_ERROR;
}

void BrotliDecoderDestroyInstance(BrotliDecoderState *state)
{
	if (brotli_ready())
		FN(brotli, BrotliDecoderDestroyInstance)(state);
}

/* ---- libzstd: zstd bodies. */

#define ZSTD_FUNCTIONS(X)                                                              \
	X(ZSTD_createDStream) X(ZSTD_freeDStream) X(ZSTD_DCtx_setParameter)            \
	X(ZSTD_decompressStream) X(ZSTD_isError)
LAZY_LIBRARY(zstd, "libzstd.so.1", ZSTD_FUNCTIONS, 1,
             "zstd-encoded responses are not read (their calls are recorded with usage unknown)")

/* zstd's error results are (size_t)-code; any of them is an error to
 * ZSTD_isError, which without the library calls everything one. */
#define ZSTD_UNLOADED ((size_t)-1)

ZSTD_DStream *ZSTD_createDStream(void)
{
	return zstd_ready() ? FN(zstd, ZSTD_createDStream)() : NULL;
}

size_t ZSTD_freeDStream(ZSTD_DStream *zds)
{
	return zstd_ready() ? FN(zstd, ZSTD_freeDStream)(zds) : 0;
}

size_t ZSTD_DCtx_setParameter(ZSTD_DCtx *dctx, ZSTD_dParameter param, int value)
{
	return zstd_ready() ? FN(zstd, ZSTD_DCtx_setParameter)(dctx, param, value) : ZSTD_UNLOADED;
}

size_t ZSTD_decompressStream(ZSTD_DStream *zds, ZSTD_outBuffer *output, ZSTD_inBuffer *input)
{
	return zstd_ready() ? FN(zstd, ZSTD_decompressStream)(zds, output, input) : ZSTD_UNLOADED;
}

unsigned ZSTD_isError(size_t code)
{
	return zstd_ready() ? FN(zstd, ZSTD_isError)(code) : 1;
}

/* ---- libnghttp2: HPACK, for HTTP/2 connections to providers. */

#if NGHTTP2_VERSION_NUM >= 0x013c00
#define NGHTTP2_INFLATE_HD(X) X(nghttp2_hd_inflate_hd3)
#else
#define NGHTTP2_INFLATE_HD(X) X(nghttp2_hd_inflate_hd2)
#endif
#define NGHTTP2_FUNCTIONS(X)                                                           \
	X(nghttp2_hd_inflate_new) X(nghttp2_hd_inflate_del)                            \
	X(nghttp2_hd_inflate_change_table_size) X(nghttp2_hd_inflate_end_headers)      \
	NGHTTP2_INFLATE_HD(X)
LAZY_LIBRARY(nghttp2, "libnghttp2.so.14", NGHTTP2_FUNCTIONS, 1,
             "HTTP/2 connections to providers are not observed")

int nghttp2_hd_inflate_new(nghttp2_hd_inflater **inflater_ptr)
{
	if (!nghttp2_ready()) {
		*inflater_ptr = NULL;
		return NGHTTP2_ERR_NOMEM;
	}
	return FN(nghttp2, nghttp2_hd_inflate_new)(inflater_ptr);
}

void nghttp2_hd_inflate_del(nghttp2_hd_inflater *inflater)
{
	if (nghttp2_ready())
		FN(nghttp2, nghttp2_hd_inflate_del)(inflater);
}

int nghttp2_hd_inflate_change_table_size(nghttp2_hd_inflater *inflater, size_t settings_max_dynamic_table_size)
{
	return nghttp2_ready() ? FN(nghttp2, nghttp2_hd_inflate_change_table_size)(inflater,
	                                                                           settings_max_dynamic_table_size)
	                       : NGHTTP2_ERR_INVALID_STATE;
}

int nghttp2_hd_inflate_end_headers(nghttp2_hd_inflater *inflater)
{
	return nghttp2_ready() ? FN(nghttp2, nghttp2_hd_inflate_end_headers)(inflater) : NGHTTP2_ERR_INVALID_STATE;
}

#if NGHTTP2_VERSION_NUM >= 0x013c00
nghttp2_ssize nghttp2_hd_inflate_hd3(nghttp2_hd_inflater *inflater, nghttp2_nv *nv_out, int *inflate_flags,
                                     const uint8_t *in, size_t inlen, int in_final)
{
	return nghttp2_ready() ? FN(nghttp2, nghttp2_hd_inflate_hd3)(inflater, nv_out, inflate_flags, in, inlen,
	                                                             in_final)
	                       : NGHTTP2_ERR_HEADER_COMP;
}
#else
ssize_t nghttp2_hd_inflate_hd2(nghttp2_hd_inflater *inflater, nghttp2_nv *nv_out, int *inflate_flags,
                               const uint8_t *in, size_t inlen, int in_final)
{
	return nghttp2_ready() ? FN(nghttp2, nghttp2_hd_inflate_hd2)(inflater, nv_out, inflate_flags, in, inlen,
	                                                             in_final)
	                       : NGHTTP2_ERR_HEADER_COMP;
}
#endif
