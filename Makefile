# SPDX-License-Identifier: GPL-2.0
#
# umbra - top-level Makefile.  Kbuild (the kernel's build system) reads
# ./Kbuild; this file is for people:
#
#   make            build umbra.ko against KDIR (default: the Debian 6.12
#                   headers that scripts/setup.sh installed; on a real host
#                   use make KDIR=/lib/modules/$(uname -r)/build)
#   make check      W=1 + sparse, fails on any warning
#   make kunit      KUnit suites (kunit.py, x86_64, under QEMU)
#   make test       setup, KUnit and the integration suite in the test host
#   make demo       boot the test host and show umbra at work
#   make bench      umbra against KVM on the guest's workloads
#   make selftests  the KVM selftests umbra passes, on KVM and on umbra
#   make clean
#
# Everything generated goes to build/ or .cache/ (ignored by git) except the
# objects Kbuild itself writes beside the sources.

TOP	:= $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
CACHE	:= $(TOP)/.cache
BUILD	:= $(TOP)/build
KVER	 = $(shell cat $(CACHE)/kver 2>/dev/null)
KDIR	?= $(if $(KVER),/usr/src/linux-headers-$(KVER),)

USER_CFLAGS := -O2 -g -Wall -Wextra -Werror -static -I$(TOP)/include/uapi
TEST_BINS   := $(BUILD)/payload/api_test $(BUILD)/payload/vmctl \
	       $(BUILD)/payload/realmode_test
PAYLOAD     := $(BUILD)/payload

.PHONY: all module check kunit test demo bench selftests setup payload clean

all: module

setup:
	@bash $(TOP)/scripts/setup.sh

module:
	@if [ -z "$(KDIR)" ] || [ ! -d "$(KDIR)" ]; then \
		echo "umbra: no kernel build tree: run scripts/setup.sh or pass KDIR=/lib/modules/\$$(uname -r)/build" >&2; \
		exit 1; fi
	$(MAKE) -C $(KDIR) M=$(TOP) CONFIG_UMBRA=m modules

check:
	@bash $(TOP)/scripts/check.sh

kunit:
	@bash $(TOP)/scripts/kunit.sh

$(BUILD)/payload/api_test: tests/api_test.c tests/test_util.h include/uapi/umbra.h
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ tests/api_test.c

$(BUILD)/payload/realmode_test: tests/realmode_test.c tests/realmode_guest.S tests/test_util.h
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ tests/realmode_test.c tests/realmode_guest.S

$(BUILD)/payload/vmctl: tests/vmctl.c include/uapi/umbra.h
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -o $@ tests/vmctl.c

# umbra-run with its test guests, and the test guest with its suite.
payload: module $(TEST_BINS)
	@mkdir -p $(PAYLOAD)
	cp $(TOP)/umbra.ko $(TOP)/tests/*.sh $(PAYLOAD)/
	$(MAKE) -C $(TOP)/vmm --no-print-directory tests OUT=$(PAYLOAD)
	$(MAKE) -C $(TOP)/guest --no-print-directory OUT=$(PAYLOAD)/guest.elf OBJ=$(BUILD)/guest

test:
	@bash $(TOP)/scripts/test.sh

demo:
	@bash $(TOP)/scripts/demo.sh

bench:
	@bash $(TOP)/scripts/bench.sh

selftests:
	@bash $(TOP)/scripts/selftests.sh

clean:
	@if [ -n "$(KDIR)" ] && [ -d "$(KDIR)" ]; then \
		$(MAKE) -C $(KDIR) M=$(TOP) clean; fi
	rm -rf $(BUILD)
