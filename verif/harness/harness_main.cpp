// harness_main.cpp: the fast harness of genesys_top (Verilator C++, one core).
//
// Loads a DRAM image (the bundle's image with the program words at PROG_ADDR and the inputs in place) into
// one DRAM shared by the five AXI4 slave ports (axi_mem.h), resets the NPU, programs it through the AXI-Lite
// port (PROG_ADDR, PROG_WORDS, DATA_BASE, TIMEOUT, CTRL = START | IRQ_ENABLE), waits for DONE (the irq, with a
// STATUS poll as fallback) under a cycle watchdog, then reads STATUS, ERR_*, PC, STATE and the counters and
// writes them as JSON, and the final DRAM image as a file.
//
//   Vgenesys_top --image dram.bin --prog-addr A --prog-words N [--data-base B] [--dram-size BYTES]
//                [--timeout AXI_CYCLES] [--max-cycles N] [--latency N | --latency-min A --latency-max B]
//                [--stall-prob P] [--seed S] [--slverr LO:HI] [--poll CYCLES] [--no-irq]
//                [--out-dram FILE] [--json FILE] [--progress SECONDS]
//
// Exit status: 0 the run reached DONE (with or without ERROR: see the JSON), 3 the watchdog fired (the JSON
// has PC and STATE), 4 the AXI-Lite port did not answer, 2 bad arguments or files.
// Register offsets, counter names and bus widths come from genesys_regs.h, generated per preset from
// genesys.isa.status / genesys.isa.counters / the config by genesys/rtl_harness.py.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "Vgenesys_top.h"
#include "axi_mem.h"
#include "genesys_regs.h"
#include "verilated.h"

namespace {

struct Args {
  std::string image, out_dram, json;
  uint64_t dram_size = 0, prog_addr = 0, prog_words = 0, data_base = 0, timeout = 0, max_cycles = 200000000ull;
  uint64_t seed = 1, poll = 4096, slverr_lo = 0, slverr_hi = 0;
  gsim::Timing timing;
  bool irq = true;
  double progress = 0.0;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "harness: %s\n", why.c_str());
  std::exit(2);
}

uint64_t num(const std::string& opt, const char* v) {
  char* end = nullptr;
  unsigned long long x = std::strtoull(v, &end, 0);
  if (!*v || *end) usage("option " + opt + ": '" + v + "' is not a number");
  return x;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; i++) {
    std::string o = argv[i];
    if (o.rfind("+verilator", 0) == 0) continue;
    if (o == "--no-irq") { a.irq = false; continue; }
    if (i + 1 >= argc) usage("option " + o + " needs a value");
    const char* v = argv[++i];
    if (o == "--image") a.image = v;
    else if (o == "--out-dram") a.out_dram = v;
    else if (o == "--json") a.json = v;
    else if (o == "--dram-size") a.dram_size = num(o, v);
    else if (o == "--prog-addr") a.prog_addr = num(o, v);
    else if (o == "--prog-words") a.prog_words = num(o, v);
    else if (o == "--data-base") a.data_base = num(o, v);
    else if (o == "--timeout") a.timeout = num(o, v);
    else if (o == "--max-cycles") a.max_cycles = num(o, v);
    else if (o == "--latency") a.timing.latency_min = a.timing.latency_max = static_cast<uint32_t>(num(o, v));
    else if (o == "--latency-min") a.timing.latency_min = static_cast<uint32_t>(num(o, v));
    else if (o == "--latency-max") a.timing.latency_max = static_cast<uint32_t>(num(o, v));
    else if (o == "--outstanding") a.timing.max_outstanding = static_cast<uint32_t>(num(o, v));
    else if (o == "--stall-prob") a.timing.stall_prob = std::atof(v);
    else if (o == "--seed") a.seed = num(o, v);
    else if (o == "--poll") a.poll = num(o, v);
    else if (o == "--progress") a.progress = std::atof(v);
    else if (o == "--slverr") {
      std::string s = v;
      size_t c = s.find(':');
      if (c == std::string::npos) usage("--slverr wants LO:HI");
      a.slverr_lo = num(o, s.substr(0, c).c_str());
      a.slverr_hi = num(o, s.substr(c + 1).c_str());
    } else usage("unknown option " + o);
  }
  if (a.image.empty()) usage("--image FILE is required");
  if (a.timing.latency_max < a.timing.latency_min) a.timing.latency_max = a.timing.latency_min;
  if (a.timing.max_outstanding == 0) usage("--outstanding must be >= 1");
  return a;
}

class Harness {
 public:
  Harness(const Args& a, gsim::Dram& dram) : top_(new Vgenesys_top) {
    ports_.push_back(GSIM_AXI_SLAVE_W("ibuf", dram, a.timing, a.seed * 7 + 1, top_, m_axi_ibuf_, regs::AXI_IBUF_WIDTH));
    ports_.push_back(GSIM_AXI_SLAVE_W("param", dram, a.timing, a.seed * 7 + 2, top_, m_axi_param_, regs::AXI_WBUF_WIDTH));
    ports_.push_back(GSIM_AXI_SLAVE_W("obuf", dram, a.timing, a.seed * 7 + 3, top_, m_axi_obuf_, regs::AXI_OBUF_WIDTH));
    ports_.push_back(GSIM_AXI_SLAVE_W("simd", dram, a.timing, a.seed * 7 + 4, top_, m_axi_simd_, regs::AXI_SIMD_WIDTH));
    ports_.push_back(GSIM_AXI_SLAVE_W("instr", dram, a.timing, a.seed * 7 + 5, top_, m_axi_instr_, regs::AXI_INSTR_WIDTH));
    top_->s_axil_awvalid = 0; top_->s_axil_wvalid = 0; top_->s_axil_bready = 0;
    top_->s_axil_arvalid = 0; top_->s_axil_rready = 0; top_->s_axil_wstrb = 0xF;
    top_->clk = 0;
    top_->rst_n = 0;
    top_->eval();
  }
  ~Harness() { top_->final(); delete top_; }

  // one clock cycle: latch handshakes, rising edge, slave state and outputs, falling edge (settles)
  void tick() {
    for (auto& p : ports_) p->sample();
    top_->clk = 1;
    top_->eval();
    cycle_++;
    for (auto& p : ports_) p->update(cycle_);
    top_->clk = 0;
    top_->eval();
  }
  void settle() { top_->eval(); }

  void reset(int cycles) {
    top_->rst_n = 0;
    for (int i = 0; i < cycles; i++) tick();
    top_->rst_n = 1;
    settle();
  }

  // AXI-Lite write/read; false when the port does not answer within `limit` cycles
  bool write(uint32_t addr, uint32_t data, uint64_t limit = 100000) {
    top_->s_axil_awaddr = addr; top_->s_axil_awvalid = 1;
    top_->s_axil_wdata = data; top_->s_axil_wstrb = 0xF; top_->s_axil_wvalid = 1;
    top_->s_axil_bready = 1;
    settle();
    uint64_t t0 = cycle_;
    bool b_done = false;
    while (top_->s_axil_awvalid || top_->s_axil_wvalid || !b_done) {
      if (cycle_ - t0 > limit) return false;
      bool aw = top_->s_axil_awvalid && top_->s_axil_awready;
      bool w = top_->s_axil_wvalid && top_->s_axil_wready;
      bool b = top_->s_axil_bvalid && top_->s_axil_bready;
      tick();
      if (aw) top_->s_axil_awvalid = 0;
      if (w) top_->s_axil_wvalid = 0;
      if (b) { b_done = true; top_->s_axil_bready = 0; }
      settle();
    }
    return true;
  }
  bool read(uint32_t addr, uint32_t& data, uint64_t limit = 100000) {
    top_->s_axil_araddr = addr; top_->s_axil_arvalid = 1; top_->s_axil_rready = 1;
    settle();
    uint64_t t0 = cycle_;
    while (true) {
      if (cycle_ - t0 > limit) return false;
      bool ar = top_->s_axil_arvalid && top_->s_axil_arready;
      bool r = top_->s_axil_rvalid && top_->s_axil_rready;
      if (r) data = top_->s_axil_rdata;
      tick();
      if (ar) top_->s_axil_arvalid = 0;
      if (r) { top_->s_axil_rready = 0; settle(); return true; }
      settle();
    }
  }
  bool irq() const { return top_->irq; }
  // group trace: (engine 0 = systolic array / 1 = SIMD, START's program index, start cycle, end cycle)
  struct Group { int engine; uint32_t first; uint64_t start, end; };
  std::vector<Group> groups;
  long open_[2] = {-1, -1};
  void trace() {
    if (top_->trace_sa_done && open_[0] >= 0) { groups[open_[0]].end = cycle_; open_[0] = -1; }
    if (top_->trace_simd_done && open_[1] >= 0) { groups[open_[1]].end = cycle_; open_[1] = -1; }
    if (top_->trace_sa_start) { open_[0] = long(groups.size()); groups.push_back({0, top_->trace_start_pc, cycle_, cycle_}); }
    if (top_->trace_simd_start) { open_[1] = long(groups.size()); groups.push_back({1, top_->trace_start_pc, cycle_, cycle_}); }
  }
  uint64_t cycle() const { return cycle_; }
  const std::vector<std::unique_ptr<gsim::AxiSlaveBase>>& ports() const { return ports_; }

 private:
  Vgenesys_top* top_;
  std::vector<std::unique_ptr<gsim::AxiSlaveBase>> ports_;
  uint64_t cycle_ = 0;
};

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "\"0x%llx\"", (unsigned long long)v);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  Args a = parse(argc, argv);
  std::vector<uint8_t> image;
  if (!gsim::read_file(a.image, image)) usage("cannot read the image '" + a.image + "'");
  uint64_t size = a.dram_size ? a.dram_size : ((image.size() + 4095) / 4096) * 4096 + 4096;
  if (size < image.size()) usage("--dram-size is smaller than the image");
  gsim::Dram dram(size);
  std::copy(image.begin(), image.end(), dram.bytes.begin());
  dram.slverr_lo = a.slverr_lo;
  dram.slverr_hi = a.slverr_hi;

  Harness h(a, dram);
  h.reset(16);
  const char* failure = nullptr;
  uint32_t id = 0, shape = 0;
  auto wr = [&](uint32_t addr, uint32_t v) { if (!failure && !h.write(addr, v)) failure = "an AXI-Lite write got no response"; };
  auto rd = [&](uint32_t addr) { uint32_t v = 0; if (!failure && !h.read(addr, v)) failure = "an AXI-Lite read got no response"; return v; };
  id = rd(regs::ID);
  shape = rd(regs::SHAPE);
  wr(regs::PROG_ADDR_LO, static_cast<uint32_t>(a.prog_addr));
  wr(regs::PROG_ADDR_HI, static_cast<uint32_t>(a.prog_addr >> 32));
  wr(regs::PROG_WORDS, static_cast<uint32_t>(a.prog_words));
  wr(regs::DATA_BASE_LO, static_cast<uint32_t>(a.data_base));
  wr(regs::DATA_BASE_HI, static_cast<uint32_t>(a.data_base >> 32));
  wr(regs::TIMEOUT, static_cast<uint32_t>(a.timeout));

  auto t0 = std::chrono::steady_clock::now();
  auto last_progress = t0;
  uint64_t c0 = h.cycle();
  wr(regs::CTRL, (1u << regs::CTRL_START) | (a.irq ? 1u << regs::CTRL_IRQ_ENABLE : 0u));
  bool done = false, timeout = false;
  uint32_t status = 0;
  uint64_t next_poll = h.cycle() + a.poll;
  while (!failure && !done) {
    if (h.cycle() - c0 >= a.max_cycles) { timeout = true; break; }
    h.trace();   // the trace outputs of the cycle about to end
    h.tick();
    if ((a.irq && h.irq()) || h.cycle() >= next_poll) {
      status = rd(regs::STATUS);
      done = (status >> regs::STATUS_DONE) & 1;
      next_poll = h.cycle() + a.poll;
    }
    if (a.progress > 0 && (h.cycle() & 0xFFFF) == 0) {
      auto now = std::chrono::steady_clock::now();
      if (std::chrono::duration<double>(now - last_progress).count() >= a.progress) {
        last_progress = now;
        std::fprintf(stderr, "harness: %llu cycles\n", (unsigned long long)(h.cycle() - c0));
        std::fflush(stderr);
      }
    }
  }
  uint64_t run_cycles = h.cycle() - c0;
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  uint32_t err_cause = rd(regs::ERR_CAUSE), err_pc = rd(regs::ERR_PC), err_word = rd(regs::ERR_WORD);
  uint32_t pc = rd(regs::PC), state = rd(regs::STATE);
  if (!done && !failure) status = rd(regs::STATUS);
  std::vector<uint64_t> counters(regs::NUM_COUNTERS, 0);
  for (int k = 0; k < regs::NUM_COUNTERS; k++) {
    uint64_t lo = rd(regs::COUNTER_BASE + 8 * k), hi = rd(regs::COUNTER_BASE + 8 * k + 4);
    counters[k] = lo | (hi << 32);
  }

  std::string j = "{\n";
  j += std::string(" \"finished\": ") + (done ? "true" : "false") + ",\n";
  j += std::string(" \"timeout\": ") + (timeout ? "true" : "false") + ",\n";
  j += std::string(" \"failure\": ") + (failure ? "\"" + std::string(failure) + "\"" : "null") + ",\n";
  j += " \"status\": " + std::to_string(status) + ",\n";
  j += std::string(" \"error\": ") + (((status >> regs::STATUS_ERROR) & 1) ? "true" : "false") + ",\n";
  j += " \"err_cause\": " + std::to_string(err_cause) + ",\n";
  j += " \"err_pc\": " + std::to_string(err_pc) + ",\n";
  j += " \"err_word\": " + std::to_string(err_word) + ",\n";
  j += " \"pc\": " + std::to_string(pc) + ",\n";
  j += " \"state\": " + std::to_string(state) + ",\n";
  j += " \"id\": " + hex(id) + ",\n";
  j += " \"shape\": " + hex(shape) + ",\n";
  j += " \"run_cycles\": " + std::to_string(run_cycles) + ",\n";
  j += " \"total_cycles\": " + std::to_string(h.cycle()) + ",\n";
  j += " \"wall_seconds\": " + std::to_string(wall) + ",\n";
  j += " \"cycles_per_second\": " + std::to_string(wall > 0 ? run_cycles / wall : 0.0) + ",\n";
  j += " \"dram_size\": " + std::to_string(size) + ",\n";
  j += " \"counters\": {";
  for (int k = 0; k < regs::NUM_COUNTERS; k++)
    j += std::string(k ? ", " : "") + "\"" + regs::COUNTER_NAMES[k] + "\": " + std::to_string(counters[k]);
  j += "},\n \"groups\": [";
  for (size_t g = 0; g < h.groups.size(); g++) {
    const auto& r = h.groups[g];
    j += std::string(g ? ", " : "") + "[" + std::to_string(r.engine) + ", " + std::to_string(r.first) + ", " +
         std::to_string(r.start - c0) + ", " + std::to_string(r.end - c0) + "]";
  }
  j += "],\n \"ports\": {";
  for (size_t i = 0; i < h.ports().size(); i++)
    j += std::string(i ? ",\n  " : "\n  ") + "\"" + h.ports()[i]->name + "\": " + gsim::stats_json(*h.ports()[i]);
  j += "\n }\n}\n";

  if (!a.out_dram.empty() && !gsim::write_file(a.out_dram, dram.bytes.data(), dram.bytes.size()))
    usage("cannot write '" + a.out_dram + "'");
  if (a.json.empty()) std::fputs(j.c_str(), stdout);
  else if (!gsim::write_file(a.json, reinterpret_cast<const uint8_t*>(j.data()), j.size())) usage("cannot write '" + a.json + "'");
  if (failure) return 4;
  return timeout ? 3 : 0;
}
