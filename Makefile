# SPDX-License-Identifier: GPL-2.0
# One build, output in build/. `make V=1` shows the commands.

BUILD     ?= build
CLANG     ?= clang
CC        ?= gcc
BPFTOOL   ?= bpftool
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -I$(BUILD) -Iinclude -Ibpf
CFLAGS    ?= -O2 -g
CFLAGS    += -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation -std=gnu11 \
	     -D_GNU_SOURCE -DMOAT_VERSION='"$(VERSION)"' \
	     -Iinclude -Iuser -I$(BUILD) -MMD -MP
LDLIBS    := -lbpf -lelf -lz -lyaml -ljson-c -lmicrohttpd -lssl -lcrypto -lpthread

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
LIB_SRCS  := $(wildcard user/lib/*.c)
LIB_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
MOATD_OBJS   := $(patsubst %.c,$(BUILD)/%.o,$(wildcard user/moatd/*.c))
MOATCTL_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard user/moatctl/*.c))
# The inspector's worker: its own binary, sharing only include/ with moatd.
INSPECT_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard user/inspect/*.c))
INSPECT_LIBS := -lhttp_parser -lnghttp2 -lmodsecurity -lseccomp -lpthread
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
PROG_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/prog/*.c))
# The address tables' filters against the program (tests/filter).
FILTER_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/filter/*.c))
# What the tests that load programs share: packets, generations, stats.
TESTLIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/lib/*.c))
BENCH_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(filter-out %.bpf.c,$(wildcard tests/bench/*.c)))
BENCH_SKELS := $(BUILD)/bench.skel.h

# libFuzzer targets: the readers of untrusted files, and what they call,
# built by clang with the fuzzer and the sanitizers (clang's runtime comes
# with libclang-rt-14-dev).
FUZZ_CC    ?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	      -std=gnu11 -D_GNU_SOURCE -DMOAT_VERSION='"$(VERSION)"' -Iinclude -Iuser -I$(BUILD)
FUZZ_LIB   := $(patsubst %,$(BUILD)/fuzz/lib/%.o,config config_values yaml parse state table log)
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

# The reference model and the differential fuzzer around it (tests/model).
MODEL_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/model/*.c))
FUZZ_PACKETS ?= 10000000

# Keep the BPF objects and skeletons: they are outputs, not scratch.
.SECONDARY:

.PHONY: all deps test test-unit test-prog test-dist test-model test-e2e test-fuzz fuzz \
	fuzz-model bench demo clean install deb test-deb
all: $(BUILD)/moatd $(BUILD)/moatctl $(BUILD)/moat-inspect

deps:
	$(Q)bash scripts/install-deps.sh

$(BUILD)/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tests/bench/%.bpf.o: tests/bench/%.bpf.c $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/bench.skel.h: $(BUILD)/tests/bench/bench.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name bench_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/bench/%.o: tests/bench/%.c | $(SKELS) $(BENCH_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

# Tests reach their helpers in tests/ (tests/inspect/h2enc.h...).
$(BUILD)/tests/%.o: CFLAGS += -Itests

# User objects may include skeletons: generate them first.
$(BUILD)/%.o: %.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libmoat.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/moatd: $(MOATD_OBJS) $(BUILD)/libmoat.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/moatctl: $(MOATCTL_OBJS) $(BUILD)/libmoat.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcurl

$(BUILD)/moat-inspect: $(INSPECT_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(INSPECT_LIBS)

# The base configuration is assembled into the worker (.incbin).
$(BUILD)/user/inspect/crs.o: user/inspect/crs-base.conf user/inspect/crs-tuning.conf

# Unit tests of the worker's pieces link those pieces, not libmoat.
$(BUILD)/tests/unit/test_http1: $(BUILD)/tests/unit/test_http1.o $(BUILD)/user/inspect/http1.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -lhttp_parser -lcmocka
$(BUILD)/tests/unit/test_http2: $(BUILD)/tests/unit/test_http2.o $(BUILD)/user/inspect/http2.o \
		$(BUILD)/user/inspect/reasm.o $(BUILD)/user/inspect/http1.o $(BUILD)/tests/inspect/h2enc.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -lnghttp2 -lhttp_parser -lcmocka
$(BUILD)/tests/unit/test_prefilter: $(BUILD)/tests/unit/test_prefilter.o \
		$(BUILD)/user/inspect/prefilter.o $(BUILD)/user/inspect/crs.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(INSPECT_LIBS) -lcmocka
$(BUILD)/tests/unit/test_pool: $(BUILD)/tests/unit/test_pool.o $(BUILD)/user/inspect/pool.o \
		$(BUILD)/user/inspect/prefilter.o $(BUILD)/user/inspect/crs.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(INSPECT_LIBS) -lcmocka
$(BUILD)/tests/unit/test_crs: $(BUILD)/tests/unit/test_crs.o $(BUILD)/user/inspect/crs.o \
		$(BUILD)/user/inspect/http1.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(INSPECT_LIBS) -lcmocka

# Detection and false-positive rates on tests/inspect-corpus through the
# worker's own reassembly, pre-filter and CRS.
$(BUILD)/tests/inspect/corpus: $(BUILD)/tests/inspect/corpus.o $(BUILD)/tests/inspect/h2enc.o \
		$(patsubst %,$(BUILD)/user/inspect/%.o,crs http1 http2 reasm prefilter pool)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(INSPECT_LIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(BUILD)/libmoat.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/tests/prog/prog_test: $(PROG_OBJS) $(TESTLIB_OBJS) $(BUILD)/libmoat.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/filter/filter_test: $(FILTER_OBJS) $(TESTLIB_OBJS) $(BUILD)/libmoat.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The reference model and the differential fuzzer around it.
$(BUILD)/tests/model/difffuzz: $(MODEL_OBJS) $(TESTLIB_OBJS) $(BUILD)/libmoat.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/bench/bench: $(BENCH_OBJS) $(TESTLIB_OBJS) $(BUILD)/libmoat.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz/lib/%.o: user/lib/%.c | $(SKELS)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(BUILD)/fuzz/inspect/%.o: user/inspect/%.c
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

# The worker's reassembly: its own pieces, not libmoat's.
$(BUILD)/fuzz/fuzz_http1: tests/fuzz/fuzz_http1.c $(BUILD)/fuzz/inspect/http1.o
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -MMD -MP -o $@ $(filter %.c %.o,$^) -lhttp_parser

$(BUILD)/fuzz/fuzz_http2: tests/fuzz/fuzz_http2.c $(BUILD)/fuzz/inspect/http2.o
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -MMD -MP -o $@ $(filter %.c %.o,$^) -lnghttp2

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -MMD -MP -o $@ $< $(FUZZ_LIB) $(LDLIBS)

# Every tier; the last line is "N passed, N failed".
test: deps all $(UNIT_BINS) $(BUILD)/tests/inspect/corpus $(BUILD)/tests/prog/prog_test $(BUILD)/tests/filter/filter_test $(BUILD)/tests/model/difffuzz \
      $(FUZZ_BINS)
	$(Q)bash tests/run.sh all

test-unit: $(UNIT_BINS) $(BUILD)/tests/inspect/corpus
	$(Q)bash tests/run.sh unit
test-prog: $(BUILD)/tests/prog/prog_test $(BUILD)/tests/filter/filter_test
	$(Q)bash tests/run.sh prog
test-dist: all
	$(Q)bash tests/run.sh dist
test-model: $(BUILD)/tests/model/difffuzz
	$(Q)bash tests/run.sh model
test-e2e: all
	$(Q)bash tests/run.sh e2e
# make test runs each fuzzer briefly; this runs each for FUZZ_SECONDS.
test-fuzz: $(FUZZ_BINS)
	$(Q)bash tests/run.sh fuzz
FUZZ_SECONDS ?= 600
fuzz: $(FUZZ_BINS) fuzz-model
	$(Q)bash tests/fuzz/run.sh -max_total_time=$(FUZZ_SECONDS)
# The differential fuzzer at length (make test runs 200k packets).
fuzz-model: $(BUILD)/tests/model/difffuzz
	$(Q)$(BUILD)/tests/model/difffuzz -n $(FUZZ_PACKETS)

bench: deps all $(BUILD)/tests/bench/bench
	$(Q)$(BUILD)/tests/bench/bench
	$(Q)bash tests/bench/inspect_bench.sh

demo: deps all
	$(Q)bash scripts/demo.sh

install: all
	install -D -m 755 $(BUILD)/moatd $(DESTDIR)/usr/sbin/moatd
	install -D -m 755 $(BUILD)/moatctl $(DESTDIR)/usr/sbin/moatctl
	install -D -m 755 $(BUILD)/moat-inspect $(DESTDIR)/usr/sbin/moat-inspect
	install -D -m 644 scripts/moatd.service $(DESTDIR)/lib/systemd/system/moatd.service
	install -D -m 644 -t $(DESTDIR)/usr/share/man/man8 man/moatd.8 man/moatctl.8
	install -D -m 644 -t $(DESTDIR)/usr/share/man/man5 man/moat.yaml.5
	install -D -m 644 scripts/bash-completion/moatctl \
		$(DESTDIR)/usr/share/bash-completion/completions/moatctl

# The Debian package (debhelper), checked by lintian; test-deb installs and
# purges it in a scratch root.
deb:
	$(Q)bash scripts/mkdeb.sh
test-deb:
	$(Q)bash tests/run.sh deb

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
