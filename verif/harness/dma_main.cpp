// dma_main.cpp: the AXI memory model (axi_mem.h) driven by the real AXI4 master genesys_dma, so the model is
// tested against RTL on its own (tests/rtl/test_harness.py compares the results with genesys.verif.dma's
// reference model).
//
//   Vgenesys_dma --image dram.bin --commands cmds.txt [--store-data st.bin] [--dram-size N]
//                [--latency N | --latency-min A --latency-max B] [--stall-prob P] [--seed S]
//                [--slverr LO:HI] [--out-dram FILE] [--out-stream FILE] [--json FILE]
//
// cmds.txt: one transfer per line, `L|S addr req_bytes it0 it1 it2 it3 st0 st1 st2 st3` (iterations minus one,
// signed byte strides, loop 0 outermost). Store transfers take their stream bytes in order from --store-data;
// the bytes of every load stream are appended to --out-stream. The stream side also stalls with --stall-prob.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "Vgenesys_dma.h"
#include "axi_mem.h"
#include "verilated.h"

namespace {

struct Cmd {
  bool store;
  uint64_t addr, req;
  uint64_t iters[4];
  int64_t strides[4];
};

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "dma harness: %s\n", why.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  std::string image, commands, store_data, out_dram, out_stream, json;
  uint64_t dram_size = 0, seed = 1, slverr_lo = 0, slverr_hi = 0, bits = 0;
  gsim::Timing timing;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string o = argv[i];
    const char* v = argv[i + 1];
    if (o == "--image") image = v;
    else if (o == "--commands") commands = v;
    else if (o == "--store-data") store_data = v;
    else if (o == "--out-dram") out_dram = v;
    else if (o == "--out-stream") out_stream = v;
    else if (o == "--json") json = v;
    else if (o == "--dram-size") dram_size = std::strtoull(v, nullptr, 0);
    else if (o == "--data-bits") bits = std::strtoull(v, nullptr, 0);
    else if (o == "--latency") timing.latency_min = timing.latency_max = std::atoi(v);
    else if (o == "--latency-min") timing.latency_min = std::atoi(v);
    else if (o == "--latency-max") timing.latency_max = std::atoi(v);
    else if (o == "--outstanding") timing.max_outstanding = std::atoi(v);
    else if (o == "--stall-prob") timing.stall_prob = std::atof(v);
    else if (o == "--seed") seed = std::strtoull(v, nullptr, 0);
    else if (o == "--slverr") {
      if (std::sscanf(v, "%" SCNi64 ":%" SCNi64, reinterpret_cast<int64_t*>(&slverr_lo), reinterpret_cast<int64_t*>(&slverr_hi)) != 2)
        fail("--slverr wants LO:HI");
    } else fail("unknown option " + o);
  }
  if (timing.latency_max < timing.latency_min) timing.latency_max = timing.latency_min;
  std::vector<uint8_t> img, st_bytes;
  if (!gsim::read_file(image, img)) fail("cannot read the image '" + image + "'");
  if (!store_data.empty() && !gsim::read_file(store_data, st_bytes)) fail("cannot read '" + store_data + "'");
  std::vector<Cmd> cmds;
  FILE* f = std::fopen(commands.c_str(), "r");
  if (!f) fail("cannot read '" + commands + "'");
  char kind;
  Cmd c{};
  while (std::fscanf(f, " %c %" SCNi64 " %" SCNi64 " %" SCNi64 " %" SCNi64 " %" SCNi64 " %" SCNi64 " %" SCNi64 " %" SCNi64
                     " %" SCNi64 " %" SCNi64,
                     &kind, reinterpret_cast<int64_t*>(&c.addr), reinterpret_cast<int64_t*>(&c.req),
                     reinterpret_cast<int64_t*>(&c.iters[0]), reinterpret_cast<int64_t*>(&c.iters[1]),
                     reinterpret_cast<int64_t*>(&c.iters[2]), reinterpret_cast<int64_t*>(&c.iters[3]), &c.strides[0],
                     &c.strides[1], &c.strides[2], &c.strides[3]) == 11) {
    c.store = kind == 'S';
    cmds.push_back(c);
  }
  std::fclose(f);

  uint64_t size = dram_size ? dram_size : img.size();
  gsim::Dram dram(size);
  std::copy(img.begin(), img.begin() + std::min<uint64_t>(img.size(), size), dram.bytes.begin());
  dram.slverr_lo = slverr_lo;
  dram.slverr_hi = slverr_hi;

  Vgenesys_dma* top = new Vgenesys_dma;
  const int data_bits = bits ? static_cast<int>(bits) : static_cast<int>(8 * sizeof(top->ld_data));
  const int bus = data_bits / 8;
  auto port = GSIM_AXI_SLAVE_W("dma", dram, timing, seed, top, m_axi_, data_bits);
  std::mt19937_64 rng(seed ^ 0x5eed);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  auto stall = [&]() { return timing.stall_prob > 0 && uni(rng) < timing.stall_prob; };

  uint64_t cycle = 0;
  auto tick = [&]() {
    port->sample();
    top->clk = 1;
    top->eval();
    cycle++;
    port->update(cycle);
    top->clk = 0;
    top->eval();
  };
  top->clk = 0; top->rst_n = 0; top->cmd_valid = 0; top->ld_ready = 0; top->st_valid = 0;
  for (int i = 0; i < 8; i++) tick();
  top->rst_n = 1;
  top->eval();

  std::vector<uint8_t> stream;
  size_t st_off = 0;
  std::string results = "[";
  const uint64_t limit = 50000000;
  for (size_t n = 0; n < cmds.size(); n++) {
    const Cmd& k = cmds[n];
    top->cmd_valid = 1;
    top->cmd_store = k.store;
    gsim::sig_set(top->cmd_addr, k.addr);
    gsim::sig_set(top->cmd_req_bytes, k.req);
    uint8_t it[8], sd[16];
    for (int l = 0; l < 4; l++) {
      uint16_t v = static_cast<uint16_t>(k.iters[l]);
      std::memcpy(it + 2 * l, &v, 2);
      uint32_t s = static_cast<uint32_t>(k.strides[l]);
      std::memcpy(sd + 4 * l, &s, 4);
    }
    gsim::bytes_to_sig(top->cmd_iters_m1, it, 8);
    gsim::bytes_to_sig(top->cmd_strides, sd, 16);
    uint64_t t0 = cycle, ld_bytes = 0;
    bool accepted = false, finished = false;
    int err = 0, resp = 0;
    uint64_t err_addr = 0;
    while (!finished) {
      if (cycle - t0 > limit) fail("transfer " + std::to_string(n) + " did not finish");
      // stream side (drive for this cycle, then settle)
      top->ld_ready = !stall();
      uint8_t buf[gsim::MAX_BUS_BYTES] = {0};
      for (int b = 0; b < bus && st_off + b < st_bytes.size(); b++) buf[b] = st_bytes[st_off + b];
      gsim::bytes_to_sig(top->st_data, buf, bus);
      top->st_valid = k.store && !stall();
      top->eval();
      // sample
      bool cmd_fire = top->cmd_valid && top->cmd_ready;
      if (top->ld_valid && top->ld_ready) {
        uint8_t d[gsim::MAX_BUS_BYTES];
        gsim::sig_to_bytes(top->ld_data, d, bus);
        int nb = __builtin_popcountll(gsim::sig_u64(top->ld_keep));
        stream.insert(stream.end(), d, d + nb);
        ld_bytes += nb;
      }
      if (top->st_valid && top->st_ready) st_off += __builtin_popcountll(gsim::sig_u64(top->st_keep));
      if (accepted && top->sts_valid) {
        finished = true;
        err = top->sts_error;
        resp = top->sts_err_resp;
        err_addr = gsim::sig_u64(top->sts_err_addr);
      }
      tick();
      if (cmd_fire) { accepted = true; top->cmd_valid = 0; }
    }
    char b[256];
    std::snprintf(b, sizeof b, "%s{\"error\": %d, \"resp\": %d, \"err_addr\": %llu, \"cycles\": %llu, \"load_bytes\": %llu}",
                  n ? ", " : "", err, resp, (unsigned long long)err_addr, (unsigned long long)(cycle - t0),
                  (unsigned long long)ld_bytes);
    results += b;
  }
  results += "]";
  top->ld_ready = 0;
  top->st_valid = 0;
  for (int i = 0; i < 4; i++) tick();
  std::string j = "{\"transfers\": " + results + ", \"store_bytes_taken\": " + std::to_string(st_off) +
                  ", \"cycles\": " + std::to_string(cycle) + ", \"port\": " + gsim::stats_json(*port) +
                  ", \"idle\": " + (port->idle() ? "true" : "false") + "}\n";
  if (!out_dram.empty() && !gsim::write_file(out_dram, dram.bytes.data(), dram.bytes.size())) fail("cannot write " + out_dram);
  if (!out_stream.empty() && !gsim::write_file(out_stream, stream.data(), stream.size())) fail("cannot write " + out_stream);
  if (json.empty()) std::fputs(j.c_str(), stdout);
  else if (!gsim::write_file(json, reinterpret_cast<const uint8_t*>(j.data()), j.size())) fail("cannot write " + json);
  top->final();
  delete top;
  return 0;
}
