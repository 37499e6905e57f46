# tokenguard Makefile
#
# Targets:
#   all (default)  build/libtokenguard.so, build/tokenguard-report and the launcher build/tokenguard
#   deps           install missing Debian packages (apt-get as root), or say what to install
#   test           deps, unit tests (criterion, ASan+UBSan), integration tests with real
#                  clients, a short libFuzzer run of each parser (TEST_FUZZ_SECONDS),
#                  then test-install; ends with one line of figures per stage
#   check          test without deps: the same stages, nothing installed
#   test-install   make install and uninstall into a scratch DESTDIR, checked
#   contract       the shim's promises to the host program (errno, error queue, return
#                  values, one record per exchange), each scenario run with and without it
#   demo           deps, build, run curl and Python under the shim against a local fake provider
#   fuzz           libFuzzer runs of the parsers (clang), FUZZ_SECONDS each
#   lint           the house style (tests/lint/checksrc.py), cppcheck and clang-tidy
#                  (.clang-tidy) over the sources; any finding fails
#   bench          bench/bench.sh: one table of every figure and target, bench/results.json
#   install        binaries, stripped library, man pages, bash completion, docs
#                  and examples under PREFIX (default /usr/local); DESTDIR,
#                  BINDIR, LIBDIR (e.g. /usr/lib/x86_64-linux-gnu), MANDIR,
#                  DOCDIR, BASHCOMPDIR honoured; STRIP=true keeps the symbols
#   uninstall      removes what install laid down (same PREFIX, DESTDIR, ...)
#
# Builds are quiet (one line per file); V=1 prints every command.
#
# SAN=address,undefined (or any of the two) builds the shim and the CLI with
# those sanitizers into build/san-address-undefined/; `make test SAN=...`
# then runs the unit, contract and integration tests with the sanitizer
# runtime preloaded before the shim into every program (tests/san.sh).
#
# Use config.mak to override variables; do not change them here.

PREFIX   ?= /usr/local
LIBDIR   ?= $(PREFIX)/lib
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
DOCDIR   ?= $(PREFIX)/share/doc/tokenguard
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR  ?=
STRIP    ?= strip

CC       ?= cc
OPT      ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CPPFLAGS += -D_GNU_SOURCE -Ishim -Iledger \
	-I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
CFLAGS   += -std=c11 $(OPT) $(WARN) -fPIC -pthread
LIBS     := -llmdb -lz -lbrotlidec -lzstd -lnghttp2 -ldl -lm -pthread
# The shim links none of the libraries above: it loads them on first need
# (shim/lazylib.h), so a program that never calls a provider loads nothing
# more than libtokenguard.so.  --as-needed and --gc-sections keep it at
# libc alone (libm served only the CLI's verify, which the shim never runs).
SHIM_LIBS    := -pthread
SHIM_LDFLAGS := -Wl,--as-needed -Wl,--gc-sections

UNIT_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN      ?=
FUZZ_SECONDS ?= 20
TEST_FUZZ_SECONDS ?= 10

-include config.mak

# Quiet builds, as the kernel's and automake's silent rules: `say` prints
# what is made, V=1 the whole command instead.  Errors and warnings print
# either way.
ifeq ($(V),1)
say =
Q   =
else
say = @printf '  %-8s%s\n' '$(1)' '$(2)';
Q   = @
MAKEFLAGS += --no-print-directory
endif

B := build
comma := ,
ifneq ($(strip $(SAN)),)
B        := build/san-$(subst $(comma),-,$(SAN))
SANFLAGS := -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
san_list := $(subst $(comma), ,$(SAN))
ifneq ($(filter-out address undefined,$(san_list)),)
$(error SAN=$(SAN): only address and undefined are supported)
endif
# The runtimes a program must load before the shim, libasan first, then
# tests/san_early.c (why: there).
san_rt = $(realpath $(shell $(CC) -print-file-name=$(1)))
SAN_RT := $(strip $(if $(filter address,$(san_list)),$(call san_rt,libasan.so)) \
	$(if $(filter undefined,$(san_list)),$(call san_rt,libubsan.so)))
ifneq ($(words $(SAN_RT)),$(words $(san_list)))
$(error SAN=$(SAN): $(CC) -print-file-name finds no libasan.so/libubsan.so (gcc needed))
endif
SAN_EARLY   := $(B)/san-early.so
SAN_PRELOAD := $(SAN_RT) $(abspath $(SAN_EARLY))
# Where the test scripts find what they run (tests/san.sh).
empty :=
export TG_BUILD       = $(abspath $(B))
export TG_REPORT_BIN  = $(abspath $(REPORT))
export TG_SAN         = $(SAN)
export TG_SAN_PRELOAD = $(subst $(empty) $(empty),:,$(SAN_PRELOAD))
endif

# The hook layer is kept apart so the parsers, exchange model and ledger can
# be linked into test binaries without interposing anything; the lazy
# loader so that they link the libraries themselves.
HOOK_SRCS   := shim/hooks.c shim/resolve.c
LAZY_SRCS   := shim/lazylib.c shim/lazylib_api.c
CORE_SRCS   := $(filter-out $(HOOK_SRCS) $(LAZY_SRCS),$(sort $(wildcard shim/*.c)))
LEDGER_SRCS := $(sort $(wildcard ledger/*.c))
# tools/launcher.c is the `tokenguard` program's main, not the report's.
LAUNCHER_MAIN := tools/launcher.c
TOOL_SRCS   := $(filter-out $(LAUNCHER_MAIN),$(sort $(wildcard tools/*.c)))
UNIT_SRCS   := $(sort $(wildcard tests/unit/*.c))
FUZZ_SRCS   := $(sort $(wildcard tests/fuzz/*.c))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
san = $(patsubst %.c,$(B)/san/%.o,$(1))

# The price table is data (ledger/prices.tsv); it is linked in as bytes.
PRICE_OBJ     := $(B)/obj/ledger/prices_blob.o
PRICE_SAN_OBJ := $(B)/san/ledger/prices_blob.o

SHIM     := $(B)/libtokenguard.so
REPORT   := $(B)/tokenguard-report
LAUNCHER := $(B)/tokenguard
UNIT_BIN := $(B)/unit-tests
CONTRACT := $(B)/ssl-contract

all: $(SHIM) $(REPORT) $(LAUNCHER)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -fvisibility=hidden -ffunction-sections -fdata-sections \
		-MMD -MP -c -o $@ $<

$(B)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(CPPFLAGS) $(CFLAGS) $(UNIT_SAN) -MMD -MP -c -o $@ $<

$(B)/obj/ledger/prices_blob.o $(B)/san/ledger/prices_blob.o: ledger/prices_blob.S ledger/prices.tsv
	@mkdir -p $(dir $@)
	$(call say,AS,$@)$(CC) -c -o $@ -DPRICES_FILE='"ledger/prices.tsv"' ledger/prices_blob.S

$(SHIM): $(call obj,$(HOOK_SRCS) $(LAZY_SRCS) $(CORE_SRCS) $(LEDGER_SRCS)) $(PRICE_OBJ) shim/exports.map
	$(call say,LD,$@)$(CC) $(SANFLAGS) -shared -Wl,-soname,libtokenguard.so -Wl,--version-script=shim/exports.map \
		-Wl,-z,defs $(SHIM_LDFLAGS) -o $@ $(filter %.o,$^) $(SHIM_LIBS)

# libpq (the fleet's PostgreSQL: sync, --fleet) is the report's alone:
# the shim and the launcher never link it.  Its headers' directory is on
# every compile's path (and lint's), which links nothing.
$(REPORT): $(call obj,$(TOOL_SRCS) $(LEDGER_SRCS)) $(PRICE_OBJ)
	$(call say,LD,$@)$(CC) $(SANFLAGS) -o $@ $^ $(LIBS) -lcurl -lhiredis -lpq

# The launcher: what it shares with doctor (program analysis, library
# lookup) and the ledger for --summary.
LAUNCHER_SRCS := $(LAUNCHER_MAIN) tools/preload.c tools/libpath.c tools/seen.c tools/elf_scan.c \
	tools/filter.c
$(LAUNCHER): $(call obj,$(LAUNCHER_SRCS) $(LEDGER_SRCS)) $(PRICE_OBJ)
	$(call say,LD,$@)$(CC) $(SANFLAGS) -Wl,--gc-sections -o $@ $^ $(LIBS)

$(SAN_EARLY): tests/san_early.c
	$(call say,LD,$@)$(CC) -shared -fPIC -nostdlib -o $@ $<

# The CLI's modules with no main and no command of their own are linked
# into the unit binary and tested there (time, tables and escaping,
# aggregation, filters, the exports, the HTML page and charts, alert
# texts, the launcher's ELF reading and preload, estimate's price); the
# commands are tested through the built tokenguard-report.  malloc and
# realloc are wrapped so that tests can make them fail
# (tests/unit/failing_alloc.h): the out-of-memory paths of the hooks.
UNIT_TOOL_SRCS := $(addprefix tools/,elf_scan.c preload.c quote.c when.c emit.c agg.c runs.c \
	zone.c filter.c otlp.c prom.c printed.c sum_table.c svg_chart.c html_chart.c html.c \
	alert_text.c text_chart.c pg_row.c deliver.c secret_text.c)
$(UNIT_BIN): $(call san,$(UNIT_SRCS) $(CORE_SRCS) $(LEDGER_SRCS) $(UNIT_TOOL_SRCS)) $(PRICE_SAN_OBJ)
	$(call say,LD,$@)$(CC) $(UNIT_SAN) -Wl,--wrap=malloc,--wrap=realloc -o $@ $^ -lcriterion $(LIBS)

deps:
	@sh tests/deps.sh

# Criterion runs each test in a process of its own and does not look at how
# it exits after the test passed, so a leak found at its exit would only be
# printed: the reports go to files, and any report fails the run.  The
# CLI's tests run the built tokenguard-report and tokenguard: built first,
# so that they never test a stale binary.
UNIT_LOGS = $(abspath $(B))/unit-sanitizer
unit: $(UNIT_BIN) $(REPORT) $(LAUNCHER)
	@rm -rf $(UNIT_LOGS) && mkdir -p $(UNIT_LOGS)
	$(Q)UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$(UNIT_LOGS)/ubsan \
	ASAN_OPTIONS=detect_leaks=1:log_path=$(UNIT_LOGS)/asan \
		$(UNIT_BIN) --jobs 2; rc=$$?; \
	if ls $(UNIT_LOGS)/* >/dev/null 2>&1; then \
		cat $(UNIT_LOGS)/*; echo "unit: sanitizer reports above"; rc=1; fi; \
	exit $$rc

# A process that holds the ledger's writer lock, for the tests of a stuck
# writer (tests/integration/ledger_faults.py).
HOLDER := $(B)/ledger-holder
$(HOLDER): tests/integration/helpers/ledger_holder.c $(call obj,$(LEDGER_SRCS)) $(PRICE_OBJ)
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LIBS)

# Appends records of other days than today (tests/integration/html_report.py).
LEDGER_PUT := $(B)/ledger-put
$(LEDGER_PUT): tests/integration/helpers/ledger_put.c $(call obj,$(LEDGER_SRCS)) $(PRICE_OBJ)
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LIBS)

# A program linking libssl alone, which says what the shim loaded on first
# need (tests/integration/lazy_libs.py).
LAZY_PROBE := $(B)/lazy-probe
$(LAZY_PROBE): tests/integration/helpers/lazy_probe.c tests/tls_selfsigned.h
	@mkdir -p $(dir $@)
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< -lssl -lcrypto

integration: all $(HOLDER) $(LEDGER_PUT) $(LAZY_PROBE) $(SAN_EARLY)
	sh tests/integration/run.sh

# The shim's promises to the program it is loaded into (errno, error queue,
# return values, no double counting), checked with and without it.
$(CONTRACT): tests/contract/ssl_contract.c tests/tls_selfsigned.h
	@mkdir -p $(dir $@)
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< -lssl -lcrypto

contract: all $(CONTRACT) $(SAN_EARLY)
	sh tests/contract/run.sh
	sh tests/contract/two_libssl.sh

# Each stage's output goes to the terminal and to $(B)/stages/NAME.log, its
# figures to $(B)/stages/NAME.result (tests/stage.sh); the last lines of
# `make test` are those figures, one line per stage.  The first stage that
# fails ends the run (its output is above) and the make fails.
STAGES_DIR := $(B)/stages
TEST_STAGES := unit contract integration $(if $(strip $(SAN)),,fuzz) test-install
test: deps
	$(MAKE) check

# `make test` without installing anything: for a machine whose packages
# are in place (make deps ran once), and for people without root.
check:
	$(MAKE) all $(UNIT_BIN)
ifneq ($(strip $(SAN)),)
	@echo "# fuzz: not run again with SAN=$(SAN): its targets have ASan and UBSan in every run"
endif
	@sh tests/stages.sh "$(STAGES_DIR)" "$(MAKE) FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)" $(TEST_STAGES)

demo: deps
	$(MAKE) all
	sh tests/demo.sh

# The fuzz targets link what the unit binary links: one list of sources
# and libraries, here.
fuzz:
	FUZZ_CPPFLAGS="$(CPPFLAGS)" FUZZ_LIBS="$(LIBS)" FUZZ_DEFAULT_SRCS="$(CORE_SRCS) $(LEDGER_SRCS) ledger/prices_blob.S" \
		sh tests/fuzz/run.sh $(FUZZ_SECONDS)

# The style of every C file, then cppcheck and clang-tidy over the
# product with the build's flags (tests/lint/run.sh).  -Werror stays with
# the build: clang's warnings that gcc does not give are not findings.
lint:
	$(Q)LINT_BUILD="$(B)/lint" LINT_FLAGS="$(CPPFLAGS) $(filter-out -Werror,$(CFLAGS))" sh tests/lint/run.sh

# bench/tlsclient.c times each exchange of bench/exchanges.sh;
# bench/sslbench.c is the in-memory TLS load of bench/commits.sh.
BENCH_PROGS := $(B)/tlsclient $(B)/sslbench
$(BENCH_PROGS): $(B)/%: bench/%.c tests/tls_selfsigned.h
	@mkdir -p $(dir $@)
	$(call say,CCLD,$@)$(CC) -O2 $(WARN) -o $@ $< -lssl -lcrypto

bench: all $(HOLDER) $(BENCH_PROGS)
	sh bench/bench.sh

# What `make install` lays down, as DIR/NAME=SOURCE mode: one list that
# install and uninstall both read.
INSTALL_DATA := \
	$(MANDIR)/man1/tokenguard-report.1=tools/tokenguard-report.1 \
	$(MANDIR)/man7/tokenguard.7=share/man/man7/tokenguard.7 \
	$(BASHCOMPDIR)/tokenguard-report=share/bash-completion/completions/tokenguard-report \
	$(DOCDIR)/README.md=README.md \
	$(DOCDIR)/tokenguard.env.example=tokenguard.env.example \
	$(DOCDIR)/examples/tokenguard-export.service=contrib/systemd/tokenguard-export.service \
	$(DOCDIR)/examples/tokenguard-export.timer=contrib/systemd/tokenguard-export.timer \
	$(DOCDIR)/examples/tokenguard-alerts.service=contrib/systemd/tokenguard-alerts.service \
	$(DOCDIR)/examples/tokenguard-sync.service=contrib/systemd/tokenguard-sync.service \
	$(DOCDIR)/examples/tokenguard-sync-oneshot.service=contrib/systemd/tokenguard-sync-oneshot.service \
	$(DOCDIR)/examples/tokenguard-sync.timer=contrib/systemd/tokenguard-sync.timer
LAUNCHER_DATA := \
	$(MANDIR)/man1/tokenguard.1=share/man/man1/tokenguard.1 \
	$(BASHCOMPDIR)/tokenguard=share/bash-completion/completions/tokenguard
installed = $(foreach f,$(1),$(DESTDIR)$(firstword $(subst =, ,$(f))))

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)
	install -m 0755 $(REPORT) $(DESTDIR)$(BINDIR)/tokenguard-report
	$(STRIP) --strip-unneeded $(DESTDIR)$(BINDIR)/tokenguard-report
	install -m 0644 $(SHIM) $(DESTDIR)$(LIBDIR)/libtokenguard.so
	$(STRIP) --strip-unneeded $(DESTDIR)$(LIBDIR)/libtokenguard.so
	@set -e; for f in $(INSTALL_DATA) $(LAUNCHER_DATA); do \
		dst=$(DESTDIR)$${f%%=*}; echo "install -D -m 0644 $${f#*=} $$dst"; \
		install -D -m 0644 "$${f#*=}" "$$dst"; done
	install -m 0755 $(LAUNCHER) $(DESTDIR)$(BINDIR)/tokenguard
	$(STRIP) --strip-unneeded $(DESTDIR)$(BINDIR)/tokenguard

# Removes the files install may have laid down and the directories of our
# own (the docs'); shared directories (bin, lib, man1, ...) stay.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tokenguard-report $(DESTDIR)$(BINDIR)/tokenguard \
		$(DESTDIR)$(LIBDIR)/libtokenguard.so \
		$(call installed,$(INSTALL_DATA) $(LAUNCHER_DATA))
	@rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null || true

# make install and uninstall into a scratch DESTDIR, checked (tests/install.sh).
test-install: all
	sh tests/install.sh

clean:
	rm -rf $(B)

.PHONY: all deps unit contract integration test check demo fuzz lint bench install uninstall test-install clean

-include $(shell find $(B) -name '*.d' 2>/dev/null)
