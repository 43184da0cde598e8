// genesys_top_stub: a stand-in for genesys_top with the same ports, used only to test the fast harness
// (verif/harness/harness_main.cpp and genesys/rtl_harness.py) without the NPU.
//
// CTRL.START copies PROG_WORDS words from PROG_ADDR to DATA_BASE: a genesys_dma on the instruction interface
// loads them into a byte memory, a genesys_dma on the OBUF interface stores them. DONE (and irq with
// IRQ_ENABLE) at the end; an AXI error response sets ERROR with ERR_CAUSE AXI_SLVERR/AXI_DECERR and the
// burst address in ERR_WORD. Counters: cycles, instructions (= PROG_WORDS), imem_load_bytes,
// obuf_store_bytes. TIMEOUT = 32'hDEAD makes the stub hang after the copy (to test the watchdog).
// The IBUF, parameter and SIMD interfaces stay idle. Not synthesizable design code: a test fixture.
`default_nettype none

module genesys_top
  import genesys_pkg::*;
(
  input  wire logic        clk,
  input  wire logic        rst_n,
  input  wire logic [11:0] s_axil_awaddr,
  input  wire logic        s_axil_awvalid,
  output logic             s_axil_awready,
  input  wire logic [31:0] s_axil_wdata,
  input  wire logic [3:0]  s_axil_wstrb,
  input  wire logic        s_axil_wvalid,
  output logic             s_axil_wready,
  output logic [1:0]       s_axil_bresp,
  output logic             s_axil_bvalid,
  input  wire logic        s_axil_bready,
  input  wire logic [11:0] s_axil_araddr,
  input  wire logic        s_axil_arvalid,
  output logic             s_axil_arready,
  output logic [31:0]      s_axil_rdata,
  output logic [1:0]       s_axil_rresp,
  output logic             s_axil_rvalid,
  input  wire logic        s_axil_rready,
  output logic             irq,
  // group trace of the real genesys_top (the stub runs no groups)
  output logic             trace_sa_start,
  output logic             trace_simd_start,
  output logic [31:0]      trace_start_pc,
  output logic             trace_sa_done,
  output logic             trace_simd_done,
`define GSTUB_PORT(P, W) \
  output logic [0:0] P``arid, output logic [AXI_ADDR_WIDTH-1:0] P``araddr, output logic [7:0] P``arlen, \
  output logic [2:0] P``arsize, output logic [1:0] P``arburst, output logic P``arvalid, \
  input wire logic P``arready, input wire logic [0:0] P``rid, input wire logic [W-1:0] P``rdata, \
  input wire logic [1:0] P``rresp, input wire logic P``rlast, input wire logic P``rvalid, output logic P``rready, \
  output logic [0:0] P``awid, output logic [AXI_ADDR_WIDTH-1:0] P``awaddr, output logic [7:0] P``awlen, \
  output logic [2:0] P``awsize, output logic [1:0] P``awburst, output logic P``awvalid, \
  input wire logic P``awready, output logic [W-1:0] P``wdata, output logic [W/8-1:0] P``wstrb, \
  output logic P``wlast, output logic P``wvalid, input wire logic P``wready, input wire logic [0:0] P``bid, \
  input wire logic [1:0] P``bresp, input wire logic P``bvalid, output logic P``bready
  `GSTUB_PORT(m_axi_ibuf_, AXI_IBUF_WIDTH),
  `GSTUB_PORT(m_axi_param_, AXI_WBUF_WIDTH),
  `GSTUB_PORT(m_axi_obuf_, AXI_OBUF_WIDTH),
  `GSTUB_PORT(m_axi_simd_, AXI_SIMD_WIDTH),
  `GSTUB_PORT(m_axi_instr_, AXI_INSTR_WIDTH)
);
  /* verilator lint_off UNUSEDSIGNAL */
  localparam int MEM_BYTES = 4096;
  localparam int IB = AXI_INSTR_WIDTH / 8, OB = AXI_OBUF_WIDTH / 8;

  // ---- idle interfaces ----
`define GSTUB_IDLE(P) \
  assign P``arid = '0; assign P``araddr = '0; assign P``arlen = '0; assign P``arsize = '0; assign P``arburst = '0; \
  assign P``arvalid = 1'b0; assign P``rready = 1'b0; assign P``awid = '0; assign P``awaddr = '0; \
  assign P``awlen = '0; assign P``awsize = '0; assign P``awburst = '0; assign P``awvalid = 1'b0; \
  assign P``wdata = '0; assign P``wstrb = '0; assign P``wlast = 1'b0; assign P``wvalid = 1'b0; assign P``bready = 1'b0;
  `GSTUB_IDLE(m_axi_ibuf_)
  `GSTUB_IDLE(m_axi_param_)
  `GSTUB_IDLE(m_axi_simd_)

  // ---- registers ----
  logic [31:0] prog_lo, prog_words, base_lo, timeout_q, err_cause, err_word, state;
  logic        irq_en, done, error;
  logic [63:0] cnt_cycles;
  logic [31:0] bytes_in, bytes_out;
  logic [7:0]  mem [MEM_BYTES];

  // ---- DMAs ----
  logic ld_cmd_valid, ld_cmd_ready, ld_sts_valid, ld_sts_error, ld_busy, ld_valid, ld_last;
  logic [1:0] ld_resp;
  logic [AXI_ADDR_WIDTH-1:0] ld_err_addr;
  logic [AXI_INSTR_WIDTH-1:0] ld_data;
  logic [IB-1:0] ld_keep;
  logic st_cmd_valid, st_cmd_ready, st_sts_valid, st_sts_error, st_busy, st_ready, st_last;
  logic [1:0] st_resp;
  logic [AXI_ADDR_WIDTH-1:0] st_err_addr;
  logic [AXI_OBUF_WIDTH-1:0] st_data;
  logic [OB-1:0] st_keep;
  logic dummy_ready, dummy_valid, dummy_last;
  logic [AXI_INSTR_WIDTH-1:0] dummy_st_data;
  logic [IB-1:0] dummy_st_keep;
  logic [AXI_OBUF_WIDTH-1:0] dummy_ld_data;
  logic [OB-1:0] dummy_ld_keep;

  genesys_dma #(.DATA_WIDTH(AXI_INSTR_WIDTH), .ADDR_WIDTH(AXI_ADDR_WIDTH)) u_ld (
    .clk, .rst_n, .cmd_valid(ld_cmd_valid), .cmd_ready(ld_cmd_ready), .cmd_store(1'b0), .cmd_addr(prog_lo[AXI_ADDR_WIDTH-1:0]),
    .cmd_iters_m1('0), .cmd_strides('0), .cmd_req_bytes(16'(prog_words * 4)),
    .sts_valid(ld_sts_valid), .sts_error(ld_sts_error), .sts_err_resp(ld_resp), .sts_err_addr(ld_err_addr), .busy(ld_busy),
    .ld_valid(ld_valid), .ld_ready(1'b1), .ld_data(ld_data), .ld_keep(ld_keep), .ld_last(ld_last),
    .st_valid(1'b0), .st_ready(dummy_ready), .st_data('0), .st_keep(dummy_st_keep), .st_last(dummy_last),
    .m_axi_arid(m_axi_instr_arid), .m_axi_araddr(m_axi_instr_araddr), .m_axi_arlen(m_axi_instr_arlen),
    .m_axi_arsize(m_axi_instr_arsize), .m_axi_arburst(m_axi_instr_arburst), .m_axi_arvalid(m_axi_instr_arvalid),
    .m_axi_arready(m_axi_instr_arready), .m_axi_rid(m_axi_instr_rid), .m_axi_rdata(m_axi_instr_rdata),
    .m_axi_rresp(m_axi_instr_rresp), .m_axi_rlast(m_axi_instr_rlast), .m_axi_rvalid(m_axi_instr_rvalid),
    .m_axi_rready(m_axi_instr_rready), .m_axi_awid(m_axi_instr_awid), .m_axi_awaddr(m_axi_instr_awaddr),
    .m_axi_awlen(m_axi_instr_awlen), .m_axi_awsize(m_axi_instr_awsize), .m_axi_awburst(m_axi_instr_awburst),
    .m_axi_awvalid(m_axi_instr_awvalid), .m_axi_awready(m_axi_instr_awready), .m_axi_wdata(m_axi_instr_wdata),
    .m_axi_wstrb(m_axi_instr_wstrb), .m_axi_wlast(m_axi_instr_wlast), .m_axi_wvalid(m_axi_instr_wvalid),
    .m_axi_wready(m_axi_instr_wready), .m_axi_bid(m_axi_instr_bid), .m_axi_bresp(m_axi_instr_bresp),
    .m_axi_bvalid(m_axi_instr_bvalid), .m_axi_bready(m_axi_instr_bready));

  genesys_dma #(.DATA_WIDTH(AXI_OBUF_WIDTH), .ADDR_WIDTH(AXI_ADDR_WIDTH)) u_st (
    .clk, .rst_n, .cmd_valid(st_cmd_valid), .cmd_ready(st_cmd_ready), .cmd_store(1'b1), .cmd_addr(base_lo[AXI_ADDR_WIDTH-1:0]),
    .cmd_iters_m1('0), .cmd_strides('0), .cmd_req_bytes(16'(prog_words * 4)),
    .sts_valid(st_sts_valid), .sts_error(st_sts_error), .sts_err_resp(st_resp), .sts_err_addr(st_err_addr), .busy(st_busy),
    .ld_valid(dummy_valid), .ld_ready(1'b0), .ld_data(dummy_ld_data), .ld_keep(dummy_ld_keep), .ld_last(dummy_last),
    .st_valid(1'b1), .st_ready(st_ready), .st_data(st_data), .st_keep(st_keep), .st_last(st_last),
    .m_axi_arid(m_axi_obuf_arid), .m_axi_araddr(m_axi_obuf_araddr), .m_axi_arlen(m_axi_obuf_arlen),
    .m_axi_arsize(m_axi_obuf_arsize), .m_axi_arburst(m_axi_obuf_arburst), .m_axi_arvalid(m_axi_obuf_arvalid),
    .m_axi_arready(m_axi_obuf_arready), .m_axi_rid(m_axi_obuf_rid), .m_axi_rdata(m_axi_obuf_rdata),
    .m_axi_rresp(m_axi_obuf_rresp), .m_axi_rlast(m_axi_obuf_rlast), .m_axi_rvalid(m_axi_obuf_rvalid),
    .m_axi_rready(m_axi_obuf_rready), .m_axi_awid(m_axi_obuf_awid), .m_axi_awaddr(m_axi_obuf_awaddr),
    .m_axi_awlen(m_axi_obuf_awlen), .m_axi_awsize(m_axi_obuf_awsize), .m_axi_awburst(m_axi_obuf_awburst),
    .m_axi_awvalid(m_axi_obuf_awvalid), .m_axi_awready(m_axi_obuf_awready), .m_axi_wdata(m_axi_obuf_wdata),
    .m_axi_wstrb(m_axi_obuf_wstrb), .m_axi_wlast(m_axi_obuf_wlast), .m_axi_wvalid(m_axi_obuf_wvalid),
    .m_axi_wready(m_axi_obuf_wready), .m_axi_bid(m_axi_obuf_bid), .m_axi_bresp(m_axi_obuf_bresp),
    .m_axi_bvalid(m_axi_obuf_bvalid), .m_axi_bready(m_axi_obuf_bready));

  always_comb begin
    for (int i = 0; i < OB; i++) st_data[8*i +: 8] = mem[(bytes_out + 32'(i)) % MEM_BYTES];
  end

  // ---- control FSM: 0 idle, 1 load, 2 wait load, 3 store, 4 wait store, 5 hang ----
  logic busy;
  assign busy = state != 0;
  assign ld_cmd_valid = state == 1;
  assign st_cmd_valid = state == 3;
  assign irq = done && irq_en;
  assign trace_sa_start = 1'b0;
  assign trace_simd_start = 1'b0;
  assign trace_start_pc = '0;
  assign trace_sa_done = 1'b0;
  assign trace_simd_done = 1'b0;
  logic start_w;

  // ---- AXI-Lite: one write and one read at a time ----
  assign s_axil_awready = s_axil_awvalid && s_axil_wvalid && !s_axil_bvalid;
  assign s_axil_wready  = s_axil_awready;
  assign s_axil_arready = !s_axil_rvalid;
  assign s_axil_bresp = 2'b00;
  assign s_axil_rresp = 2'b00;
  assign start_w = s_axil_awready && s_axil_awaddr == CSR_CTRL && s_axil_wdata[0];

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      s_axil_bvalid <= 1'b0; s_axil_rvalid <= 1'b0; s_axil_rdata <= '0;
      prog_lo <= '0; prog_words <= '0; base_lo <= '0; timeout_q <= '0; irq_en <= 1'b0;
      done <= 1'b0; error <= 1'b0; err_cause <= '0; err_word <= '0; state <= '0;
      cnt_cycles <= '0; bytes_in <= '0; bytes_out <= '0;
    end else begin
      if (s_axil_bvalid && s_axil_bready) s_axil_bvalid <= 1'b0;
      if (s_axil_awready) begin
        s_axil_bvalid <= 1'b1;
        case (s_axil_awaddr)
          CSR_CTRL: irq_en <= s_axil_wdata[1];
          CSR_STATUS: begin if (s_axil_wdata[1]) done <= 1'b0; if (s_axil_wdata[2]) error <= 1'b0; end
          CSR_PROG_ADDR_LO: prog_lo <= s_axil_wdata;
          CSR_PROG_WORDS: prog_words <= s_axil_wdata;
          CSR_DATA_BASE_LO: base_lo <= s_axil_wdata;
          CSR_TIMEOUT: timeout_q <= s_axil_wdata;
          default: ;
        endcase
      end
      if (s_axil_rvalid && s_axil_rready) s_axil_rvalid <= 1'b0;
      if (s_axil_arvalid && s_axil_arready) begin
        s_axil_rvalid <= 1'b1;
        case (s_axil_araddr)
          CSR_ID: s_axil_rdata <= CSR_ID_VALUE;
          CSR_SHAPE: s_axil_rdata <= {16'(ARRAY_M), 16'(ARRAY_N)};
          CSR_CTRL: s_axil_rdata <= {30'd0, irq_en, 1'b0};
          CSR_STATUS: s_axil_rdata <= {29'd0, error, done, busy};
          CSR_ERR_CAUSE: s_axil_rdata <= err_cause;
          CSR_ERR_PC: s_axil_rdata <= '0;
          CSR_ERR_WORD: s_axil_rdata <= err_word;
          CSR_PC: s_axil_rdata <= bytes_in / 4;
          CSR_PROG_ADDR_LO: s_axil_rdata <= prog_lo;
          CSR_PROG_WORDS: s_axil_rdata <= prog_words;
          CSR_DATA_BASE_LO: s_axil_rdata <= base_lo;
          CSR_TIMEOUT: s_axil_rdata <= timeout_q;
          CSR_STATE: s_axil_rdata <= state;
          CSR_COUNTER_BASE + 12'(8 * CNT_CYCLES): s_axil_rdata <= cnt_cycles[31:0];
          CSR_COUNTER_BASE + 12'(8 * CNT_CYCLES) + 12'd4: s_axil_rdata <= cnt_cycles[63:32];
          CSR_COUNTER_BASE + 12'(8 * CNT_INSTRUCTIONS): s_axil_rdata <= prog_words;
          CSR_COUNTER_BASE + 12'(8 * CNT_IMEM_LOAD_BYTES): s_axil_rdata <= bytes_in;
          CSR_COUNTER_BASE + 12'(8 * CNT_OBUF_STORE_BYTES): s_axil_rdata <= bytes_out;
          default: s_axil_rdata <= '0;
        endcase
      end
      if (busy) cnt_cycles <= cnt_cycles + 64'd1;
      if (ld_valid) begin
        for (int i = 0; i < IB; i++) if (ld_keep[i]) mem[(bytes_in + 32'(i)) % MEM_BYTES] <= ld_data[8*i +: 8];
        bytes_in <= bytes_in + 32'($countones(ld_keep));
      end
      if (st_ready) bytes_out <= bytes_out + 32'($countones(st_keep));
      case (state)
        0: if (start_w) begin
          state <= 1; done <= 1'b0; error <= 1'b0; err_cause <= '0; err_word <= '0;
          cnt_cycles <= '0; bytes_in <= '0; bytes_out <= '0;
        end
        1: if (ld_cmd_ready) state <= 2;
        2: if (ld_sts_valid) begin
          if (ld_sts_error) begin
            state <= 0; done <= 1'b1; error <= 1'b1; err_word <= 32'(ld_err_addr);
            err_cause <= 32'(ld_resp == 2'b11 ? ERR_AXI_DECERR : ERR_AXI_SLVERR);
          end else state <= 3;
        end
        3: if (st_cmd_ready) state <= 4;
        4: if (st_sts_valid) begin
          if (timeout_q == 32'hDEAD) state <= 5;
          else begin
            state <= 0; done <= 1'b1;
            if (st_sts_error) begin
              error <= 1'b1; err_word <= 32'(st_err_addr);
              err_cause <= 32'(st_resp == 2'b11 ? ERR_AXI_DECERR : ERR_AXI_SLVERR);
            end
          end
        end
        default: ;
      endcase
    end
  end
  /* verilator lint_on UNUSEDSIGNAL */
endmodule

`default_nettype wire
