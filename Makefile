# SPDX-License-Identifier: GPL-2.0
#
# ntbnet top-level Makefile.
#
#   make              bootstrap, build the test kernel and the project's QEMU
#                     (both cached), the modules, the ivshmem server and the
#                     initramfs into build/
#   make run          boot two hosts and bring up the link (the demo)
#   make test         host unit tests and VM selftests, KTAP; then ntbnet's
#                     main VM tests again on the debug kernel (one summary)
#   make debug        the VM platform on the debug kernel (KASAN, lockdep,
#                     fault injection; selftests/config.debug) in build/debug/
#   make test-debug   the VM tests marked `vm-kernels: debug` on it
#   make test-debug-all [PATTERN=...]
#                     every VM test on it, one at a time (hours; not in CI)
#   make stress [STRESS=NAME]
#                     long stress runs in VMs (selftests/stress/), not in CI
#   make bench        ntbnet against ntb_netdev in VMs, and ntb_perf on the
#                     Switchtec model against the virtual NTB (not tests; see
#                     Documentation/performance.md; BENCH_ROUNDS=N)
#   make check        rustfmt and clippy
#   make KDIR=<dir>   build only the modules against a kernel build tree
#                     (real hardware); see README.md
#   make dkms-source [TESTBED=1]
#                     the DKMS source tree in /usr/src/ntbnet-VERSION
#                     (dkms.conf); then dkms add/install ntbnet/VERSION
#   make hw-kernel-config CONFIG=/boot/config-$(uname -r) [OUT=dir] [KSRC=dir]
#                     a kernel config for real hardware: the distribution's
#                     plus what ntbnet needs (Documentation/ntbnet.md)
#
# Kbuild (the file `Kbuild`) describes the modules themselves.

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD := $(TOP)/build
export PATH := $(HOME)/.cargo/bin:$(PATH)

PROJECT_KO := ntbnet.ko ntb_hw_ivshmem.ko ntb_irqtest.ko
# The kernel's own NTB modules: baselines and outside test suites.
KERNEL_KO := drivers/ntb/ntb.ko drivers/ntb/ntb_transport.ko \
	drivers/net/ntb_netdev.ko drivers/ntb/test/ntb_tool.ko \
	drivers/ntb/test/ntb_pingpong.ko drivers/ntb/test/ntb_perf.ko \
	drivers/ntb/hw/mscc/ntb_hw_switchtec.ko drivers/pci/switch/switchtec.ko \
	net/sched/sch_netem.ko

RUST_SOURCES := $(shell find $(TOP)/src $(TOP)/net $(TOP)/hw -name '*.rs' -o -name '*.c' -o -name '*.h' | grep -v '_generated\|bindings_wrappers')
# (Absent from a DKMS source tree, which has no host-side crates.)
SERVER_SOURCES := $(shell find $(TOP)/hw/ivshmem/server -name '*.rs' -o -name Cargo.toml 2>/dev/null)
HOSTILE_SOURCES := $(shell find $(TOP)/selftests/hostile -name '*.rs' -o -name Cargo.toml 2>/dev/null)

.PHONY: all modules vm run test bench check clean distclean help hw-kernel-config dkms-source debug test-debug test-debug-all stress

ifeq ($(origin KDIR),undefined)
# --- The VM platform: bootstrap, cached test kernel, then everything. -------
all:
	@$(TOP)/scripts/bootstrap.sh
	@kdir=$$($(TOP)/scripts/build-kernel.sh) && qemu=$$($(TOP)/scripts/build-qemu.sh) && \
		$(MAKE) --no-print-directory -f $(TOP)/Makefile KDIR="$$kdir" QEMU_BIN="$$qemu" NTBNET_VM=1 vm
else
# --- A given kernel tree (real hardware): the modules only, unless this is
# --- the recursive call of the VM build above.
all: $(if $(NTBNET_VM),vm,modules)
endif

# A kernel without Rust cannot load ntbnet: one line instead of a wall of
# compiler errors (DKMS skips such kernels before it gets here, dkms.conf).
modules:
	$(if $(wildcard $(KDIR)/include/config/auto.conf),,$(error ntbnet: $(KDIR) is not a configured kernel build tree (no include/config/auto.conf)))
	$(if $(shell grep -sx CONFIG_RUST=y $(KDIR)/include/config/auto.conf),,$(error ntbnet: the kernel in $(KDIR) has no CONFIG_RUST; ntbnet needs a Rust-enabled 6.12 kernel (make hw-kernel-config, Documentation/ntbnet.md)))
	$(if $(wildcard $(KDIR)/rust/libkernel.rmeta),,$(error ntbnet: $(KDIR) has CONFIG_RUST but not the Rust metadata (rust/libkernel.rmeta), as a 6.12 headers package: add it with scripts/kernel-headers-rust.sh (Documentation/ntbnet.md)))
	@$(MAKE) --no-print-directory -C $(KDIR) M=$(TOP) LLVM=1 $(if $(CLIPPY),CLIPPY=1) modules

vm: modules $(BUILD)/bzImage $(addprefix $(BUILD)/,$(PROJECT_KO) $(notdir $(KERNEL_KO))) \
	$(BUILD)/ivshmem-server $(BUILD)/ntbnet-hostile $(BUILD)/initramfs.cpio.gz $(if $(QEMU_BIN),$(BUILD)/qemu-system-x86_64) \
	$(BUILD)/switchtec-poke $(BUILD)/udp-gso

# Random register writes for the Switchtec model's test (a static binary
# for the VMs).
$(BUILD)/switchtec-poke: $(TOP)/selftests/tools/switchtec_poke.c
	@echo "  CC       $@"
	@mkdir -p $(BUILD) && gcc -static -O2 -Wall -Wextra -Werror -o $@ $<

# One UDP datagram sent with UDP_SEGMENT: a transmit batch for ntbnet_link.
$(BUILD)/udp-gso: $(TOP)/selftests/tools/udp_gso.c
	@echo "  CC       $@"
	@mkdir -p $(BUILD) && gcc -static -O2 -Wall -Wextra -Werror -o $@ $<

# The project's QEMU (scripts/build-qemu.sh), with the Switchtec NTB model.
$(BUILD)/qemu-system-x86_64: $(QEMU_BIN)
	@mkdir -p $(BUILD) && cp $< $@

$(BUILD)/bzImage: $(KDIR)/arch/x86/boot/bzImage
	@mkdir -p $(BUILD) && cp $< $@

$(addprefix $(BUILD)/,$(PROJECT_KO)): $(BUILD)/%.ko: $(TOP)/%.ko
	@mkdir -p $(BUILD) && cp $< $@

$(addprefix $(TOP)/,$(PROJECT_KO)): modules

define kernel_ko_rule
$(BUILD)/$(notdir $(1)): $(KDIR)/$(1)
	@mkdir -p $(BUILD) && cp $$< $$@
endef
$(foreach ko,$(KERNEL_KO),$(eval $(call kernel_ko_rule,$(ko))))

$(BUILD)/ivshmem-server: $(SERVER_SOURCES) $(TOP)/Cargo.lock
	@echo "  CARGO    ivshmem-server"
	@cd $(TOP) && cargo build --quiet --release --locked -p ivshmem-server
	@mkdir -p $(BUILD) && cp $(TOP)/target/release/ivshmem-server $@

$(BUILD)/ntbnet-hostile: $(HOSTILE_SOURCES) $(SERVER_SOURCES) $(TOP)/Cargo.lock
	@echo "  CARGO    ntbnet-hostile"
	@cd $(TOP) && cargo build --quiet --release --locked -p ntbnet-hostile
	@mkdir -p $(BUILD) && cp $(TOP)/target/release/ntbnet-hostile $@

$(BUILD)/initramfs.cpio.gz: $(TOP)/scripts/mkinitramfs.sh $(TOP)/selftests/init \
		$(addprefix $(BUILD)/,$(PROJECT_KO) $(notdir $(KERNEL_KO)))
	@echo "  GEN      $@"
	@$(TOP)/scripts/mkinitramfs.sh "$(KDIR)" $@ $(addprefix $(BUILD)/,$(PROJECT_KO) $(notdir $(KERNEL_KO)))

# The debug kernel's platform in build/debug/. An out-of-tree module tree
# builds for one kernel at a time, so the debug modules build in a copy of
# the sources (without any build output), which keeps its objects between
# runs; the server is the same program.
DEBUG_BUILD := $(BUILD)/debug
TREE_FILES := Kbuild Makefile Cargo.toml Cargo.lock src net hw scripts selftests
TREE_EXCLUDE := *.o *.ko *.mod *.mod.c .*.cmd .*.d modules.order Module.symvers \
	bindings_generated.rs bindings_wrappers.c

debug: all
	@kdir=$$($(TOP)/scripts/build-kernel.sh --variant debug) && \
		mkdir -p $(DEBUG_BUILD)/tree && \
		(cd $(TOP) && tar -cf - $(foreach x,$(TREE_EXCLUDE),--exclude='$(x)') $(TREE_FILES)) | \
		tar -xf - -C $(DEBUG_BUILD)/tree && \
		cp $(BUILD)/ivshmem-server $(DEBUG_BUILD)/ivshmem-server && \
		qemu=$$($(TOP)/scripts/build-qemu.sh) && \
		$(MAKE) --no-print-directory -f $(DEBUG_BUILD)/tree/Makefile KDIR="$$kdir" QEMU_BIN="$$qemu" \
			NTBNET_VM=1 BUILD=$(DEBUG_BUILD) vm

# Long stress runs (selftests/stress/, not part of `make test`); results
# in Documentation/testing.md.
stress: all
	@NTBNET_SUITE=stress $(TOP)/selftests/run_tests.sh $(STRESS)

run: all
	@$(TOP)/selftests/run_demo.sh

# Both passes: everything on the test kernel, then the tests marked
# `vm-kernels: debug` on the debug kernel (Documentation/testing.md).
test: all debug
	@NTBNET_KERNELS="base debug" $(TOP)/selftests/run_tests.sh

# The debug kernel's pass (Documentation/testing.md, "The debug kernel").
test-debug: debug
	@NTBNET_KERNELS=debug $(TOP)/selftests/run_tests.sh

# The whole VM suite on the debug kernel, `vm-kernels:` lines ignored
# (Documentation/testing.md, "The whole suite on the debug kernel").
test-debug-all: debug
	@NTBNET_KERNELS=debug NTBNET_DEBUG_ALL=1 $(TOP)/selftests/run_tests.sh $(PATTERN)

# The benchmark runs on its own kernel, the test kernel without debug
# options (selftests/config.bench), with the modules built for it in a copy
# of the tree and perf and sockperf in its initramfs; then the same kernel
# on the Switchtec model (the project's QEMU): ntbnet's MSI backend against
# ntb_netdev, and ntb_perf on the model against the virtual NTB.
BENCH_TREE := $(BUILD)/bench-tree
bench: all
	@$(TOP)/scripts/bootstrap-bench.sh
	@kdir=$$($(TOP)/scripts/build-kernel.sh --variant bench) && \
		mkdir -p $(BENCH_TREE) && \
		tar -C $(TOP) --exclude=./build --exclude=./target --exclude=./.git \
			--exclude='*.o' --exclude='*.ko' --exclude='*.cmd' --exclude='*.mod*' \
			--exclude='*_generated.rs' --exclude='bindings_wrappers.c' -cf - . | \
			tar -C $(BENCH_TREE) -xf - && \
		INITRAMFS_TOOLS="/usr/bin/perf /usr/bin/sockperf" \
			$(MAKE) --no-print-directory -f $(BENCH_TREE)/Makefile KDIR="$$kdir" NTBNET_VM=1 vm
	@NTBNET_BUILD=$(BENCH_TREE)/build $(TOP)/selftests/bench.sh
	@NTBNET_BUILD=$(BENCH_TREE)/build NTBNET_QEMU=$(BUILD)/qemu-system-x86_64 $(TOP)/selftests/bench_switchtec.sh

check:
	@$(TOP)/scripts/bootstrap.sh
	@kdir=$$($(TOP)/scripts/build-kernel.sh) && \
		$(MAKE) --no-print-directory -C "$$kdir" M=$(TOP) LLVM=1 CLIPPY=1 W=1 modules
	@rustfmt --check --edition 2021 $(TOP)/net/ntbnet.rs $(TOP)/hw/ivshmem/ntb_hw_ivshmem.rs \
		$(TOP)/hw/irqtest/ntb_irqtest.rs
	@cd $(TOP) && cargo fmt --all --check
	@cd $(TOP) && cargo clippy --quiet --locked --workspace --all-targets -- -D warnings

dkms-source:
	@$(TOP)/scripts/dkms-source.sh /usr/src $(TESTBED)

hw-kernel-config:
	@[ -n "$(CONFIG)" ] || { echo "usage: make hw-kernel-config CONFIG=/boot/config-\$$(uname -r) [OUT=dir] [KSRC=dir]" >&2; exit 1; }
	@$(TOP)/scripts/hw-kernel-config.sh "$(CONFIG)" $(OUT)

clean:
	@kdir="$(KDIR)"; [ -n "$$kdir" ] || kdir=$$($(TOP)/scripts/build-kernel.sh --print 2>/dev/null); \
		if [ -n "$$kdir" ]; then $(MAKE) --no-print-directory -C "$$kdir" M=$(TOP) LLVM=1 clean; fi
	@rm -rf $(BUILD) $(TOP)/src/bindings/bindings_generated.rs $(TOP)/src/bindings/bindings_wrappers.c \
		$(TOP)/src/bindings/kernel-bindgen.mk

distclean: clean
	@rm -rf $(TOP)/target

help:
	@sed -n '3,29p' $(TOP)/Makefile
