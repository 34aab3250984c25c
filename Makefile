# wscale — one executable, built at the repo root.
#
#   make                 build ./wscale
#   make demo            install what is missing, build, run the whole stack
#                        (DEMO_ARGS="--backends 3 --port 9000" to change it)
#   make test            install test dependencies; run unit tests, the fuzz targets
#                        (TEST_FUZZ_SECONDS each, default 7; CI: 30) and integration
#                        tests on the optimized build, then unit + integration again
#                        under ASan + UBSan
#   make test SANITIZE=1 only the sanitized run
#   make unit            C unit tests only
#   make integration     integration tests only (real redis-server, real clients)
#   make fuzz            build the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang
#                        into build/fuzz/ and run each for FUZZ_SECONDS (default 10;
#                        make -j2 fuzz runs two at a time)
#                        from its seed corpus; a crash or broken invariant fails, its
#                        input is kept in build/fuzz/crashes/ (replay: build/fuzz/fuzz_X FILE)

ifeq ($(origin CC),default)
CC      := gcc
endif
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith
CPPFLAGS += -std=c11 -D_GNU_SOURCE -MMD -MP
LDLIBS  := -lev -lhiredis -ljansson -lssl -lcrypto

ifeq ($(SANITIZE),1)
BUILD   := build/asan
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
BUILD   := build/release
endif

PYTHON  ?= /usr/bin/python3

SRCS    := $(wildcard shared/*.c backend/*.c lb/*.c bench/*.c)
LIBSRCS := $(filter-out shared/main.c,$(SRCS))
# Files embedded in the binary: each becomes a generated C array.
PAGE_C  := $(BUILD)/gen/chat-page.c
OBJS    := $(SRCS:%.c=$(BUILD)/%.o) $(PAGE_C:.c=.o)
LIBOBJS := $(LIBSRCS:%.c=$(BUILD)/%.o) $(PAGE_C:.c=.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all wscale demo test unit integration fuzz setup clean
all: wscale

# ./wscale is always the last build; SANITIZE=1 builds replace it too.
# ./wscale is whichever build was asked for last (plain or SANITIZE=1). It is
# replaced by rename, so rebuilding works while a wscale process runs.
wscale: $(BUILD)/wscale
	@cmp -s $< $@ || { cp $< $@.tmp && mv -f $@.tmp $@ && echo "./wscale is $<"; }

$(BUILD)/wscale: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libwscale.a: $(LIBOBJS)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c -o $@ $<

# backend/chat-page.html as bytes: od and sed only, nothing to install.
$(PAGE_C): backend/chat-page.html
	@mkdir -p $(dir $@)
	{ echo '#include <stddef.h>'; \
	  echo 'const unsigned char chat_page_html[] = {'; \
	  od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; \
	  echo 'const size_t chat_page_html_len = sizeof(chat_page_html);'; } > $@

$(PAGE_C:.c=.o): $(PAGE_C)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(BUILD)/libwscale.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(LDFLAGS) -o $@ $< $(BUILD)/libwscale.a $(LDLIBS)

setup:
	scripts/setup

demo:
	scripts/setup --runtime
	$(MAKE) wscale
	./wscale demo $(DEMO_ARGS)

unit: $(UNIT_BINS)
	@failed=0; for t in $(UNIT_BINS); do $$t || failed=1; done; exit $$failed

integration: $(BUILD)/wscale
	WSCALE_BIN=$(CURDIR)/$(BUILD)/wscale $(PYTHON) -m pytest -q tests/integration

# What CI runs. Under SANITIZE=1 every wscale process the tests start is
# checked for memory errors, undefined behaviour and leaks at exit.
ifeq ($(SANITIZE),1)
test: setup
	$(MAKE) unit integration
else
test: setup
	$(MAKE) unit
	$(MAKE) -j2 fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)
	$(MAKE) integration
	$(MAKE) unit integration SANITIZE=1
endif

# ---- fuzzing: clang's libFuzzer with ASan + UBSan --------------------------
# The shared and lb sources, and the chat codec, are compiled a second time,
# with clang, into their own archive; a target links only the objects it
# needs from it. gcc builds everything else, and its -Werror rules the code:
# clang's extra warnings are shown, not fatal, in that second compilation.
FUZZ_CC      := clang
FUZZ_SECONDS ?= 10
TEST_FUZZ_SECONDS ?= 7
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=undefined
FUZZ_WARN    := $(filter-out -Werror,$(WARN))
FUZZ_OBJS    := $(patsubst %.c,build/fuzz/obj/%.o,$(filter shared/% lb/% backend/chat-proto.c,$(LIBSRCS)))
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
# fuzz_config must never resolve a name through DNS (see the target).
FUZZ_LDFLAGS_fuzz_config := -Wl,--wrap=getaddrinfo

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_WARN) -c -o $@ $<

build/fuzz/libwscale.a: $(FUZZ_OBJS)
	rm -f $@
	ar rcs $@ $^

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h build/fuzz/libwscale.a
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(WARN) -o $@ $< \
	    build/fuzz/libwscale.a $(FUZZ_LDFLAGS_fuzz_$*) $(LDLIBS)

# One run per target, so that make -j runs targets side by side.
fuzz: $(FUZZ_BINS:build/fuzz/%=fuzz-run-%)
fuzz-run-%: build/fuzz/%
	@scripts/fuzz $< $(FUZZ_SECONDS)

clean:
	rm -rf build wscale

-include $(OBJS:.o=.d) $(UNIT_BINS:=.d) $(FUZZ_OBJS:.o=.d) $(FUZZ_BINS:=.d)
