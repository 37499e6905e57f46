/* prices_blob.S - the bundled price table (prices.tsv) linked in as bytes,
 * so the shim needs no data file at run time.  price.c parses it. */
	.section .rodata
	.globl tg_prices_builtin
	.hidden tg_prices_builtin
	.type tg_prices_builtin, @object
tg_prices_builtin:
	.incbin PRICES_FILE
	.byte 0
	.size tg_prices_builtin, . - tg_prices_builtin
	.section .note.GNU-stack,"",@progbits
