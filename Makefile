# SPDX-License-Identifier: GPL-2.0
#
# vfio-mapcache: out-of-tree build of vfio_iommu_mapcache.ko and its tests.
#
#   make                  build for /lib/modules/$(uname -r)/build if present,
#                         else for the primary kernel of scripts/kernels.list
#   make KVER=6.1         build for a kernel of the matrix (fetched if needed)
#   make W=1 C=1          extra warnings and sparse, as in the kernel tree
#   make check            every test tier (unit, lint, guest, install, debug,
#                         e2e) on every kernel (debug, e2e: the primary kernel)
#   make install-test     the install tier: DKMS install, modprobe, a
#                         container and modprobe -r in a guest per kernel
#   make debug-test       the debug tier: the guest suite on a debug kernel
#                         (KASAN, lockdep, kmemleak, ...) built from source
#   make e2e              the e2e tier: Debian QEMU as the VMM in a guest,
#                         assigning emulated NVMe to a nested guest
#   make demo             the main job: a map-cache demo in a QEMU guest
#   make install          modules_install + depmod for the running kernel
#   make sim | plots      replay the committed traces in the simulator; draw
#                         hit rate per quota (Documentation/mapcache/figures)
#   make clean

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

# Resolve KDIR / KREL (and KCHROOT) only for goals that build the module.
KBUILD_GOALS := all modules install clean
ifneq ($(filter $(KBUILD_GOALS),$(if $(MAKECMDGOALS),$(MAKECMDGOALS),all)),)
ifeq ($(origin KDIR),command line)
# KDIR alone, as DKMS gives it: the release comes from the headers, which
# are all the build needs (the VFIO core's private interface is declared in
# drivers/vfio/mapcache/vfio_core.h).
KREL ?= $(shell sed -nE 's/.*UTS_RELEASE "(.*)"/\1/p' \
	$(KDIR)/include/generated/utsrelease.h 2>/dev/null)
KENV := KDIR=$(KDIR) KREL=$(KREL)
else
KENV := $(shell $(TOP)/scripts/kenv.sh $(KVER) || echo KENV_FAILED)
endif
ifneq ($(filter KENV_FAILED,$(KENV)),)
$(error cannot set up a kernel build tree (see the message above))
endif
$(foreach v,$(KENV),$(eval $(v)))
endif

KBUILD_ARGS := -C $(KDIR) M=$(TOP)
# A kernel of another Debian release than the host's builds in a chroot of
# that release (its gcc, its libc for the kbuild tools): scripts/chroot.sh.
KRUN := $(if $(KCHROOT),$(TOP)/scripts/chroot.sh --run $(KCHROOT))

.PHONY: all modules install clean check demo bench lint unit guest-test install-test debug-test e2e sim plots
all modules:
	$(KRUN) $(MAKE) $(KBUILD_ARGS) modules

# INSTALL_MOD_PATH (default: DESTDIR) installs under another root, e.g. a
# package staging tree; depmod then indexes that root.  Kbuild's own depmod
# is skipped for want of a System.map in the headers.
INSTALL_MOD_PATH ?= $(DESTDIR)
install: modules
	$(KRUN) $(MAKE) $(KBUILD_ARGS) INSTALL_MOD_PATH=$(INSTALL_MOD_PATH) modules_install
	depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KREL)
	install -D -m 0644 $(TOP)/scripts/vfio-mapcache.modprobe.conf \
		$(DESTDIR)/etc/modprobe.d/vfio-mapcache.conf

clean:
	$(KRUN) $(MAKE) $(KBUILD_ARGS) clean
	$(MAKE) -C $(TOP)/tools/testing/selftests/vfio_mapcache clean

check:
	$(TOP)/scripts/check.sh

demo:
	$(TOP)/scripts/demo.sh

bench:
	$(TOP)/scripts/bench.sh

sim:
	$(MAKE) -C $(TOP)/tools/mapcache-sim sim

plots:
	$(MAKE) -C $(TOP)/tools/mapcache-sim plots

lint:
	$(TOP)/scripts/check.sh --tier lint

unit:
	$(TOP)/scripts/check.sh --tier unit

guest-test:
	$(TOP)/scripts/check.sh --tier guest

install-test:
	$(TOP)/scripts/check.sh --tier install

debug-test:
	$(TOP)/scripts/check.sh --tier debug

e2e:
	$(TOP)/scripts/check.sh --tier e2e
