// axi_mem.h: one shared DRAM behind any number of AXI4 slave ports, for Verilator C++ harnesses.
//
// The model is cycle based and drives the slave side of each port from registered state only (no
// combinational path from a master output to a slave output), so a harness runs it like this each cycle:
//
//     port->sample();          // clk low, DUT settled: latch the handshakes valid && ready
//     top->clk = 1; top->eval();
//     port->update(cycle);     // move the state on by the latched handshakes, drive the next outputs
//     top->clk = 0; top->eval();
//
// Per port: AR / AW accepted while fewer than `max_outstanding` bursts are in flight; read data comes
// `latency` cycles (uniform in [latency_min, latency_max], per burst, seeded) after the AR handshake, one beat
// per cycle, responses in order; W beats are accepted ahead of their AW (AXI4 allows it) into a small
// buffer; B comes `latency` cycles after the burst's last W beat. With `stall_prob` > 0 every ready and every
// R/B valid is withheld in a cycle with that probability (backpressure). Bursts: FIXED and INCR with
// AxSIZE up to the bus width, narrow and unaligned starts (data on the byte lanes of the full bus word),
// WSTRB per byte; a beat that touches a byte at or beyond the DRAM size answers DECERR (reads return 0,
// writes are dropped); beats inside an optional [slverr_lo, slverr_hi) window answer SLVERR (the data is
// still moved). Protocol breaches (WRAP or reserved burst type, AxSIZE wider than the bus, a burst
// crossing 4 KiB, WLAST on the wrong beat, WSTRB outside the beat's lanes) are counted and the first few
// are kept as text for the report.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "verilated.h"

namespace gsim {

// ---- Verilator signal access: integers up to 64 bits, VlWide<N> above (little-endian host) ----------------
template <class T>
inline uint64_t sig_u64(const T& s) { return static_cast<uint64_t>(s); }
template <std::size_t N>
inline uint64_t sig_u64(const VlWide<N>& s) { return s[0] | (N > 1 ? static_cast<uint64_t>(s[1]) << 32 : 0); }

template <class T>
inline void sig_set(T& s, uint64_t v) { s = static_cast<T>(v); }
template <std::size_t N>
inline void sig_set(VlWide<N>& s, uint64_t v) {
  for (std::size_t i = 0; i < N; i++) s[i] = 0;
  s[0] = static_cast<uint32_t>(v);
  if (N > 1) s[1] = static_cast<uint32_t>(v >> 32);
}

template <class T>
inline void sig_to_bytes(const T& s, uint8_t* dst, int n) { uint64_t x = s; std::memcpy(dst, &x, n); }
template <std::size_t N>
inline void sig_to_bytes(const VlWide<N>& s, uint8_t* dst, int n) { std::memcpy(dst, s.data(), n); }

template <class T>
inline void bytes_to_sig(T& s, const uint8_t* src, int n) { uint64_t x = 0; std::memcpy(&x, src, n); s = static_cast<T>(x); }
template <std::size_t N>
inline void bytes_to_sig(VlWide<N>& s, const uint8_t* src, int n) {
  std::memset(s.data(), 0, N * 4);
  std::memcpy(s.data(), src, n);
}

constexpr int MAX_BUS_BYTES = 128;  // AXI4 allows up to 1024-bit data
constexpr uint8_t RESP_OKAY = 0, RESP_SLVERR = 2, RESP_DECERR = 3;

// ---- the DRAM ------------------------------------------------------------------------------------------
struct Dram {
  std::vector<uint8_t> bytes;
  uint64_t slverr_lo = 0, slverr_hi = 0;  // beats touching [lo, hi) answer SLVERR (empty by default)

  explicit Dram(uint64_t size) : bytes(size, 0) {}
  uint64_t size() const { return bytes.size(); }
  // response of an access to [addr, addr + n)
  uint8_t check(uint64_t addr, uint64_t n) const {
    if (addr + n > bytes.size() || addr + n < addr) return RESP_DECERR;
    if (addr < slverr_hi && addr + n > slverr_lo) return RESP_SLVERR;
    return RESP_OKAY;
  }
};

struct Timing {
  uint32_t latency_min = 0, latency_max = 0;  // cycles from the address handshake to the first data beat / B
  double stall_prob = 0.0;                    // probability a ready or a valid is withheld in a cycle
  uint32_t max_outstanding = 16;              // bursts in flight per direction
  uint32_t w_buffer = 512;                    // W beats accepted ahead of their AW
};

struct PortStats {
  uint64_t read_bursts = 0, write_bursts = 0, read_beats = 0, write_beats = 0;
  uint64_t read_bytes = 0, write_bytes = 0;  // bytes moved (read: beat lanes, write: strobed bytes)
  uint64_t slverr = 0, decerr = 0, violations = 0;
  uint64_t busy_cycles = 0;                  // cycles with at least one data handshake
  std::vector<std::string> violation_text;   // the first few breaches
};

class AxiSlaveBase {
 public:
  virtual ~AxiSlaveBase() = default;
  virtual void sample() = 0;
  virtual void update(uint64_t cycle) = 0;
  virtual bool idle() const = 0;
  std::string name;
  PortStats stats;
};

struct Burst {
  uint64_t addr = 0;
  uint32_t len = 0;      // beats - 1
  uint32_t size = 0;     // bytes per beat
  uint8_t kind = 1;      // 0 FIXED, 1 INCR
  uint8_t id = 0;
  uint64_t ready_at = 0; // first cycle the data (reads) / the response (writes) may be shown
  uint32_t beat = 0;     // next beat
  uint8_t resp = RESP_OKAY;
};

template <class AddrT, class DataT, class StrbT>
class AxiSlave final : public AxiSlaveBase {
 public:
  struct Pins {
    CData *arid; AddrT *araddr; CData *arlen, *arsize, *arburst, *arvalid, *arready;
    CData *rid; DataT *rdata; CData *rresp, *rlast, *rvalid, *rready;
    CData *awid; AddrT *awaddr; CData *awlen, *awsize, *awburst, *awvalid, *awready;
    DataT *wdata; StrbT *wstrb; CData *wlast, *wvalid, *wready;
    CData *bid, *bresp, *bvalid, *bready;
  };
  AxiSlave(std::string port_name, Dram& dram, const Timing& t, int data_bits, uint64_t seed, Pins pins)
      : dram_(dram), t_(t), bus_(data_bits / 8), p_(pins), rng_(seed) {
    name = std::move(port_name);
    *p_.arready = 0; *p_.rvalid = 0; *p_.rlast = 0; *p_.rresp = 0; *p_.rid = 0; sig_set(*p_.rdata, 0);
    *p_.awready = 0; *p_.wready = 0; *p_.bvalid = 0; *p_.bresp = 0; *p_.bid = 0;
  }

  void sample() override {
    ar_fire_ = *p_.arvalid && *p_.arready;
    r_fire_ = *p_.rvalid && *p_.rready;
    aw_fire_ = *p_.awvalid && *p_.awready;
    w_fire_ = *p_.wvalid && *p_.wready;
    b_fire_ = *p_.bvalid && *p_.bready;
    if (ar_fire_) ar_ = {sig_u64(*p_.araddr), *p_.arlen, *p_.arsize, *p_.arburst, *p_.arid};
    if (aw_fire_) aw_ = {sig_u64(*p_.awaddr), *p_.awlen, *p_.awsize, *p_.awburst, *p_.awid};
    if (w_fire_) {
      WBeat b;
      sig_to_bytes(*p_.wdata, b.data, bus_);
      uint8_t strb[MAX_BUS_BYTES / 8] = {0};
      sig_to_bytes(*p_.wstrb, strb, (bus_ + 7) / 8);
      std::memcpy(b.strb, strb, sizeof strb);
      b.last = *p_.wlast;
      wbuf_.push_back(b);
    }
  }

  void update(uint64_t cycle) override {
    cycle_ = cycle;
    if (r_fire_ || w_fire_) stats.busy_cycles++;
    // ---- reads ----
    if (ar_fire_) accept(ar_, false);
    if (r_fire_) {
      Burst& h = rq_.front();
      if (++h.beat > h.len) rq_.pop_front();
    }
    if (*p_.rvalid && !r_fire_) {
      // hold: AXI forbids dropping a valid before its handshake
    } else if (!rq_.empty() && rq_.front().ready_at <= cycle && !stall()) {
      drive_read_beat(rq_.front());
    } else {
      *p_.rvalid = 0;
    }
    *p_.arready = rq_.size() < t_.max_outstanding && !stall();
    // ---- writes ----
    if (aw_fire_) accept(aw_, true);
    while (!awq_.empty() && !wbuf_.empty()) {
      Burst& h = awq_.front();
      apply_write_beat(h, wbuf_.front());
      wbuf_.pop_front();
      if (++h.beat > h.len) {
        h.ready_at = cycle + latency();
        bq_.push_back(h);
        awq_.pop_front();
      }
    }
    if (b_fire_) bq_.pop_front();
    if (*p_.bvalid && !b_fire_) {
      // hold
    } else if (!bq_.empty() && bq_.front().ready_at <= cycle && !stall()) {
      *p_.bvalid = 1;
      *p_.bid = bq_.front().id;
      *p_.bresp = bq_.front().resp;
    } else {
      *p_.bvalid = 0;
    }
    *p_.awready = awq_.size() + bq_.size() < t_.max_outstanding && !stall();
    *p_.wready = wbuf_.size() < t_.w_buffer && !stall();
  }

  bool idle() const override { return rq_.empty() && awq_.empty() && bq_.empty() && wbuf_.empty(); }

 private:
  struct AddrBeat { uint64_t addr; uint32_t len, size_log2, kind, id; };
  struct WBeat { uint8_t data[MAX_BUS_BYTES]; uint8_t strb[MAX_BUS_BYTES / 8]; bool last; };

  bool stall() { return t_.stall_prob > 0.0 && uni_(rng_) < t_.stall_prob; }
  uint32_t latency() {
    if (t_.latency_max <= t_.latency_min) return t_.latency_min;
    return t_.latency_min + static_cast<uint32_t>(rng_() % (t_.latency_max - t_.latency_min + 1));
  }
  void violation(const std::string& what) {
    stats.violations++;
    if (stats.violation_text.size() < 8) stats.violation_text.push_back(what);
  }

  void accept(const AddrBeat& a, bool write) {
    Burst b;
    b.addr = a.addr; b.len = a.len; b.size = 1u << a.size_log2; b.kind = static_cast<uint8_t>(a.kind); b.id = static_cast<uint8_t>(a.id);
    char buf[160];
    const char* dir = write ? "AW" : "AR";
    if (b.size > static_cast<uint32_t>(bus_)) {
      std::snprintf(buf, sizeof buf, "%s at 0x%llx: AxSIZE %u bytes is wider than the %d-byte bus", dir,
                    (unsigned long long)b.addr, b.size, bus_);
      violation(buf);
      b.size = bus_;
    }
    if (b.kind != 0 && b.kind != 1) {
      std::snprintf(buf, sizeof buf, "%s at 0x%llx: burst type %u (only FIXED and INCR are modelled)", dir,
                    (unsigned long long)b.addr, b.kind);
      violation(buf);
      b.kind = 1;
    }
    if (b.kind == 1) {
      uint64_t last = beat_addr(b, b.len);
      if ((last >> 12) != (b.addr >> 12)) {
        std::snprintf(buf, sizeof buf, "%s at 0x%llx of %u beats x %u bytes crosses a 4 KiB boundary", dir,
                      (unsigned long long)b.addr, b.len + 1, b.size);
        violation(buf);
      }
    }
    if (write) { stats.write_bursts++; awq_.push_back(b); }
    else { stats.read_bursts++; b.ready_at = cycle_ + latency(); rq_.push_back(b); }
  }

  // byte address of beat i (AXI4 A3.4.2): INCR beats after the first are aligned to the size
  static uint64_t beat_addr(const Burst& b, uint32_t i) {
    if (b.kind == 0 || i == 0) return b.addr;
    return (b.addr & ~static_cast<uint64_t>(b.size - 1)) + static_cast<uint64_t>(i) * b.size;
  }

  void drive_read_beat(const Burst& b) {
    uint64_t a = beat_addr(b, b.beat);
    uint64_t lo = a, hi = (a & ~static_cast<uint64_t>(b.size - 1)) + b.size;  // the beat's bytes [lo, hi)
    uint64_t word = a & ~static_cast<uint64_t>(bus_ - 1);
    uint8_t resp = dram_.check(lo, hi - lo);
    uint8_t data[MAX_BUS_BYTES] = {0};
    if (resp != RESP_DECERR) std::memcpy(data + (lo - word), &dram_.bytes[lo], hi - lo);
    bytes_to_sig(*p_.rdata, data, bus_);
    *p_.rvalid = 1;
    *p_.rlast = b.beat == b.len;
    *p_.rid = b.id;
    *p_.rresp = resp;
    stats.read_beats++;
    stats.read_bytes += hi - lo;
    if (resp == RESP_DECERR) stats.decerr++;
    if (resp == RESP_SLVERR) stats.slverr++;
  }

  void apply_write_beat(Burst& b, const WBeat& w) {
    uint64_t a = beat_addr(b, b.beat);
    uint64_t lo = a, hi = (a & ~static_cast<uint64_t>(b.size - 1)) + b.size;
    uint64_t word = a & ~static_cast<uint64_t>(bus_ - 1);
    char buf[160];
    if (w.last != (b.beat == b.len)) {
      std::snprintf(buf, sizeof buf, "W beat %u of the burst at 0x%llx (%u beats): WLAST = %d", b.beat,
                    (unsigned long long)b.addr, b.len + 1, int(w.last));
      violation(buf);
    }
    uint8_t resp = dram_.check(lo, hi - lo);  // DECERR drops the whole beat; SLVERR still writes
    bool outside = false;
    uint64_t moved = 0;
    for (int j = 0; j < bus_; j++) {
      if (!((w.strb[j >> 3] >> (j & 7)) & 1)) continue;
      uint64_t addr = word + j;
      if (addr < lo || addr >= hi) { outside = true; continue; }
      if (resp != RESP_DECERR) { dram_.bytes[addr] = w.data[j]; moved++; }
    }
    if (outside) {
      std::snprintf(buf, sizeof buf, "W beat %u of the burst at 0x%llx: WSTRB marks lanes outside the beat", b.beat,
                    (unsigned long long)b.addr);
      violation(buf);
    }
    if (resp > b.resp) b.resp = resp;
    if (resp == RESP_DECERR) stats.decerr++;
    if (resp == RESP_SLVERR) stats.slverr++;
    stats.write_beats++;
    stats.write_bytes += moved;
  }

  Dram& dram_;
  Timing t_;
  int bus_;
  Pins p_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> uni_{0.0, 1.0};
  uint64_t cycle_ = 0;
  bool ar_fire_ = false, r_fire_ = false, aw_fire_ = false, w_fire_ = false, b_fire_ = false;
  AddrBeat ar_{}, aw_{};
  std::deque<Burst> rq_, awq_, bq_;
  std::deque<WBeat> wbuf_;
};

template <class AddrT, class DataT, class StrbT>
std::unique_ptr<AxiSlaveBase> make_slave(const std::string& name, Dram& dram, const Timing& t, int data_bits, uint64_t seed,
                                         typename AxiSlave<AddrT, DataT, StrbT>::Pins pins) {
  return std::unique_ptr<AxiSlaveBase>(new AxiSlave<AddrT, DataT, StrbT>(name, dram, t, data_bits, seed, pins));
}

// GSIM_AXI_SLAVE(name, dram, timing, seed, top, m_axi_ibuf_): binds the port's pins by name; the data width is
// the Verilated width of the rdata signal's type unless `bits` is given (GSIM_AXI_SLAVE_W).
#define GSIM_AXI_SLAVE_W(NAME, DRAM, TIMING, SEED, TOP, P, BITS)                                                  \
  ::gsim::make_slave<std::remove_reference_t<decltype((TOP)->P##araddr)>,                                         \
                     std::remove_reference_t<decltype((TOP)->P##rdata)>,                                          \
                     std::remove_reference_t<decltype((TOP)->P##wstrb)>>(                                         \
      NAME, DRAM, TIMING, BITS, SEED,                                                                             \
      {&(TOP)->P##arid, &(TOP)->P##araddr, &(TOP)->P##arlen, &(TOP)->P##arsize, &(TOP)->P##arburst,               \
       &(TOP)->P##arvalid, &(TOP)->P##arready, &(TOP)->P##rid, &(TOP)->P##rdata, &(TOP)->P##rresp,                \
       &(TOP)->P##rlast, &(TOP)->P##rvalid, &(TOP)->P##rready, &(TOP)->P##awid, &(TOP)->P##awaddr,                \
       &(TOP)->P##awlen, &(TOP)->P##awsize, &(TOP)->P##awburst, &(TOP)->P##awvalid, &(TOP)->P##awready,           \
       &(TOP)->P##wdata, &(TOP)->P##wstrb, &(TOP)->P##wlast, &(TOP)->P##wvalid, &(TOP)->P##wready,                \
       &(TOP)->P##bid, &(TOP)->P##bresp, &(TOP)->P##bvalid, &(TOP)->P##bready})

// ---- small helpers for the mains --------------------------------------------------------------------------
inline bool read_file(const std::string& path, std::vector<uint8_t>& out) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  std::fseek(f, 0, SEEK_END);
  long n = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  size_t got = n > 0 ? std::fread(out.data(), 1, out.size(), f) : 0;
  std::fclose(f);
  return got == out.size();
}

inline bool write_file(const std::string& path, const uint8_t* data, size_t n) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  size_t put = std::fwrite(data, 1, n, f);
  return std::fclose(f) == 0 && put == n;
}

inline std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') { o += '\\'; o += c; }
    else if (static_cast<unsigned char>(c) < 0x20) o += ' ';
    else o += c;
  }
  return o;
}

inline std::string stats_json(const AxiSlaveBase& p) {
  const PortStats& s = p.stats;
  std::string v = "[";
  for (size_t i = 0; i < s.violation_text.size(); i++) v += (i ? ", \"" : "\"") + json_escape(s.violation_text[i]) + "\"";
  v += "]";
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"read_bursts\": %llu, \"write_bursts\": %llu, \"read_beats\": %llu, \"write_beats\": %llu, "
                "\"read_bytes\": %llu, \"write_bytes\": %llu, \"slverr\": %llu, \"decerr\": %llu, \"busy_cycles\": %llu, "
                "\"violations\": %llu, \"violation_text\": ",
                (unsigned long long)s.read_bursts, (unsigned long long)s.write_bursts, (unsigned long long)s.read_beats,
                (unsigned long long)s.write_beats, (unsigned long long)s.read_bytes, (unsigned long long)s.write_bytes,
                (unsigned long long)s.slverr, (unsigned long long)s.decerr, (unsigned long long)s.busy_cycles,
                (unsigned long long)s.violations);
  return std::string(buf) + v + "}";
}

}  // namespace gsim
