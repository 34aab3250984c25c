# wscale — one executable, built at the repo root.
#
#   make                 build ./wscale
#   make test            install test dependencies; run unit + integration tests
#                        on the optimized build, then again under ASan + UBSan
#   make test SANITIZE=1 only the sanitized run
#   make unit            C unit tests only
#   make integration     integration tests only (real redis-server, real clients)

ifeq ($(origin CC),default)
CC      := gcc
endif
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith
CPPFLAGS += -std=c11 -D_GNU_SOURCE -MMD -MP
LDLIBS  := -lev -lhiredis -lcrypto

ifeq ($(SANITIZE),1)
BUILD   := build/asan
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
BUILD   := build/release
endif

PYTHON  ?= /usr/bin/python3

SRCS    := $(wildcard shared/*.c backend/*.c lb/*.c)
LIBSRCS := $(filter-out shared/main.c,$(SRCS))
OBJS    := $(SRCS:%.c=$(BUILD)/%.o)
LIBOBJS := $(LIBSRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all wscale test unit integration setup clean
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

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(BUILD)/libwscale.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(LDFLAGS) -o $@ $< $(BUILD)/libwscale.a $(LDLIBS)

setup:
	scripts/setup

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
	$(MAKE) unit integration
	$(MAKE) unit integration SANITIZE=1
endif

clean:
	rm -rf build wscale

-include $(OBJS:.o=.d) $(UNIT_BINS:=.d)
