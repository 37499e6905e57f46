/* wire.h - the vocabulary shared by the provider table, the transports
 * (HTTP/1.1, HTTP/2) and the usage parsers.
 *
 * Owns: enum tg_wire (the wire format a provider speaks: which usage parser
 * reads its bodies), enum tg_body_kind (how a response body is framed) and
 * enum tg_dir (which way bytes flow on a connection).  No functions.
 */
#ifndef TG_WIRE_H
#define TG_WIRE_H

enum tg_wire {
	TG_WIRE_OPENAI,     /* OpenAI and every OpenAI-compatible API (Azure, Groq, xAI, Mistral, ...) */
	TG_WIRE_ANTHROPIC,  /* Anthropic Messages */
	TG_WIRE_GEMINI,     /* Google Gemini generateContent / streamGenerateContent */
	TG_WIRE_COHERE,     /* Cohere v2 chat / embed */
	TG_WIRE_BEDROCK,    /* AWS Bedrock Converse / ConverseStream */
};

enum tg_body_kind {
	TG_BODY_JSON,         /* one JSON document (or anything else: scanned, maybe no usage) */
	TG_BODY_SSE,          /* text/event-stream */
	TG_BODY_EVENTSTREAM,  /* application/vnd.amazon.eventstream (Bedrock ConverseStream) */
};

enum tg_dir {
	TG_DIR_REQUEST = 0,   /* client to server: bytes passed to SSL_write */
	TG_DIR_RESPONSE = 1,  /* server to client: bytes returned by SSL_read */
};

#endif
