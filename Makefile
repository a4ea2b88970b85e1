# SPDX-License-Identifier: GPL-2.0
#
# vfio-mapcache: out-of-tree build of vfio_iommu_mapcache.ko and its tests.
#
#   make                  build for /lib/modules/$(uname -r)/build if present,
#                         else for the primary kernel of scripts/kernels.list
#   make KVER=6.1         build for a kernel of the matrix (fetched if needed)
#   make W=1 C=1          extra warnings and sparse, as in the kernel tree
#   make check            every test tier (unit, lint, guest) on every kernel
#   make demo             the main job: a map-cache demo in a QEMU guest
#   make install          modules_install + depmod for the running kernel
#   make sim | plots      replay the committed traces in the simulator; draw
#                         hit rate per quota (Documentation/mapcache/figures)
#   make clean

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

# Resolve KDIR / VMC_VFIO_INC / KREL only for goals that build the module.
KBUILD_GOALS := all modules install clean
ifneq ($(filter $(KBUILD_GOALS),$(if $(MAKECMDGOALS),$(MAKECMDGOALS),all)),)
ifeq ($(origin KDIR),command line)
KENV := KDIR=$(KDIR) VMC_VFIO_INC=$(VMC_VFIO_INC)
else
KENV := $(shell $(TOP)/scripts/kenv.sh $(KVER) || echo KENV_FAILED)
endif
ifneq ($(filter KENV_FAILED,$(KENV)),)
$(error cannot set up a kernel build tree (see the message above))
endif
$(foreach v,$(KENV),$(eval $(v)))
endif

KBUILD_ARGS := -C $(KDIR) M=$(TOP) VMC_VFIO_INC=$(VMC_VFIO_INC)

.PHONY: all modules install clean check demo bench lint unit guest-test sim plots
all modules:
	$(MAKE) $(KBUILD_ARGS) modules

install: modules
	$(MAKE) $(KBUILD_ARGS) modules_install
	depmod -a $(KREL)
	install -D -m 0644 $(TOP)/scripts/vfio-mapcache.modprobe.conf \
		$(DESTDIR)/etc/modprobe.d/vfio-mapcache.conf

clean:
	$(MAKE) $(KBUILD_ARGS) clean
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
