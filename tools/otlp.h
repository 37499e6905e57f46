/* otlp.h - OTLP/HTTP JSON bodies (ExportTraceServiceRequest and
 * ExportMetricsServiceRequest of opentelemetry-proto, in the protobuf
 * JSON mapping with OTLP's exceptions): one span per ledger record with
 * the GenAI semantic-convention attributes, and cumulative monotonic sums.
 * Owns only the encoding; what is sent and when is cmd_export.c's.
 *
 * Encoding (opentelemetry-proto docs/specification.md, "JSON Protobuf
 * Encoding"): field names in lowerCamelCase, 64-bit integers as decimal
 * strings, traceId and spanId as hex strings (not base64), enums as
 * integers.  Attribute names and provider values: the GenAI registry of
 * the OpenTelemetry semantic conventions (README "Export"). */
#ifndef TG_OTLP_H
#define TG_OTLP_H

#include <stdint.h>
#include <stdio.h>

#include "record.h"

/* The gen_ai.provider.name value of a ledger provider name: the
 * convention's well-known value, else the ledger's name itself. */
const char *tg_otlp_provider_name(const char *provider);

/* The trace id (16 bytes) and span id (8 bytes) of the record under key:
 * a function of the key alone, so a resend carries the same ids. */
void tg_otlp_ids(const unsigned char key[16], unsigned char trace_id[16],
                 unsigned char span_id[8]);

/* The traces body: open, a span per record (first: no comma before it),
 * close. */
void tg_otlp_traces_open(FILE *f);
void tg_otlp_span(FILE *f, int first, const unsigned char key[16], const struct tg_record *r);
void tg_otlp_traces_close(FILE *f);

/* The metrics body: open; per metric, metric_open, its points, then
 * metric_close; close.  A point's attributes are n name/value pairs. */
void tg_otlp_metrics_open(FILE *f);
void tg_otlp_metric_open(FILE *f, int first, const char *name, const char *unit,
                         const char *description);
void tg_otlp_point(FILE *f, int first, const char *const *names, const char *const *values,
                   int n, int64_t start_ns, int64_t now_ns, int is_double, int64_t iv,
                   double dv);
void tg_otlp_metric_close(FILE *f);
void tg_otlp_metrics_close(FILE *f);

#endif
