# A stand-in for OpenROAD-flow-scripts' flow/Makefile (tests/flows/test_openroad.py): reads the design config as
# ORFS does, checks what it names exists, runs $(OPENROAD_EXE) once, and writes ORFS's final reports from the
# samples in $(FAKE_ORFS_DATA) under $(WORK_HOME)/{logs,reports}/<platform>/<nickname>/base/.
# FAKE_ORFS_MODE: ok (default) | fail (a global placement error, exit 1) | empty (exit 0, no reports) |
#                 text (only the text reports: 6_finish.rpt of 2023 and 6_report.log) |
#                 old (as ok, but written under the flow directory: an ORFS without WORK_HOME)
include $(DESIGN_CONFIG)
WORK_HOME ?= .
ifeq ($(FAKE_ORFS_MODE),old)
  override WORK_HOME := $(CURDIR)
endif
DESIGN_NICKNAME ?= $(DESIGN_NAME)
LOG_DIR     = $(WORK_HOME)/logs/$(PLATFORM)/$(DESIGN_NICKNAME)/base
REPORTS_DIR = $(WORK_HOME)/reports/$(PLATFORM)/$(DESIGN_NICKNAME)/base
FAKE_ORFS_MODE ?= ok

.PHONY: finish
finish:
	@echo "fake ORFS in $(CURDIR): DESIGN_CONFIG=$(DESIGN_CONFIG) DESIGN_NAME=$(DESIGN_NAME) PLATFORM=$(PLATFORM)"
	@echo "WORK_HOME=$(WORK_HOME) CORE_UTILIZATION=$(CORE_UTILIZATION) PLACE_DENSITY=$(PLACE_DENSITY)"
	@test -d platforms/$(PLATFORM) || { echo "[ERROR FLW-0001] platform $(PLATFORM) not found"; exit 1; }
	@for f in $(VERILOG_FILES) $(SDC_FILE); do test -f $$f || { echo "[ERROR FLW-0002] missing $$f"; exit 1; }; done
	@echo "read $(words $(VERILOG_FILES)) Verilog files"
	$(OPENROAD_EXE) -version
	@if [ "$(FAKE_ORFS_MODE)" = fail ]; then cat $(FAKE_ORFS_DATA)/openroad_make_failed.log; exit 1; fi
	@mkdir -p $(LOG_DIR) $(REPORTS_DIR)
	@if [ "$(FAKE_ORFS_MODE)" = ok ] || [ "$(FAKE_ORFS_MODE)" = old ]; then \
	  cp $(FAKE_ORFS_DATA)/openroad_6_report.json $(LOG_DIR)/6_report.json; \
	  cp $(FAKE_ORFS_DATA)/openroad_5_2_route.json $(LOG_DIR)/5_2_route.json; \
	  cp $(FAKE_ORFS_DATA)/openroad_6_finish.rpt $(REPORTS_DIR)/6_finish.rpt; \
	  cp $(FAKE_ORFS_DATA)/openroad_6_report.log $(LOG_DIR)/6_report.log; fi
	@if [ "$(FAKE_ORFS_MODE)" = text ]; then \
	  cp $(FAKE_ORFS_DATA)/openroad_6_finish_2023.rpt $(REPORTS_DIR)/6_finish.rpt; \
	  cp $(FAKE_ORFS_DATA)/openroad_6_report.log $(LOG_DIR)/6_report.log; fi
	@echo "[WARNING STA-1212] a fake warning"
	@echo "fake ORFS: finish done"
