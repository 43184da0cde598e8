// tb_systolic_array: self-checking smoke test of genesys_systolic_array (FuseSoC targets sim, sim_icarus).
//
// The parameters come from the core: the genesys generator passes the block's knob values (the ones the
// RTL was rendered with) as vlogparams; the defaults below only matter when the file is compiled alone.
// The test writes two weight sets into the PE banks, streams vectors through the array (one before any
// weight load, to check the weights reset to zero; a bubble; a back-to-back weight switch), computes
// every expected column sum itself, and compares each out_valid vector in order. It ends with
// "PASS: ..." and $finish, or "FAIL: ..." and $fatal (a non-zero exit status).
// The real verification is the pyuvm environment in verif/systolic_array/.
`default_nettype none
`timescale 1ns / 1ps

module tb_systolic_array #(
  parameter int ARRAY_N    = genesys_pkg::ARRAY_N,
  parameter int ARRAY_M    = genesys_pkg::ARRAY_M,
  parameter int DATA_WIDTH = genesys_pkg::DATA_WIDTH,
  parameter int WGT_WIDTH  = genesys_pkg::WGT_WIDTH,
  parameter int ACC_WIDTH  = genesys_pkg::ACC_WIDTH,
  parameter int OUTPUT_REG = 0
);

  localparam int WBUF_ADDR_WIDTH = $clog2(genesys_pkg::WBUF_DEPTH);
  localparam int ROW_WIDTH       = $clog2(ARRAY_N);
  localparam int NCYC            = 3 * (ARRAY_N + ARRAY_M) + 4;  // input cycles
  localparam int SWITCH          = NCYC / 2;                        // cycle of the switch to weight set 1
  localparam int BUBBLE          = 3;                               // cycle with in_valid low
  localparam int TIMEOUT         = 8 * (ARRAY_N + ARRAY_M) + 64;    // cycles to wait for the outputs

  logic                          clk = 1'b0;
  logic                          rst_n;
  logic                          in_valid;
  logic [ARRAY_N*DATA_WIDTH-1:0] in_data;
  logic [ARRAY_M*ACC_WIDTH-1:0]  in_psum;
  logic                          wgt_load;
  logic [WBUF_ADDR_WIDTH-1:0]    wgt_addr;
  logic                          wbuf_we;
  logic [ROW_WIDTH-1:0]          wbuf_row;
  logic [WBUF_ADDR_WIDTH-1:0]    wbuf_addr;
  logic [ARRAY_M-1:0]            wbuf_be;
  logic [ARRAY_M*WGT_WIDTH-1:0]  wbuf_data;
  wire                           out_valid;
  wire  [ARRAY_M*ACC_WIDTH-1:0]  out_psum;

  genesys_systolic_array #(
    .ARRAY_N(ARRAY_N), .ARRAY_M(ARRAY_M), .DATA_WIDTH(DATA_WIDTH), .WGT_WIDTH(WGT_WIDTH),
    .ACC_WIDTH(ACC_WIDTH), .OUTPUT_REG(OUTPUT_REG)
  ) u_dut (
    .clk(clk), .rst_n(rst_n), .in_valid(in_valid), .in_data(in_data), .in_psum(in_psum),
    .wgt_load(wgt_load), .wgt_addr(wgt_addr), .wbuf_we(wbuf_we), .wbuf_row(wbuf_row),
    .wbuf_addr(wbuf_addr), .wbuf_be(wbuf_be), .wbuf_data(wbuf_data), .out_valid(out_valid), .out_psum(out_psum));

  always #5 clk = ~clk;

  // ---- stimulus values: deterministic, signed, with the extremes -----------------------------------
  // Weight of PE[i][j] in set s; set 0 has the most negative weight at PE[0][0].
  function automatic logic signed [WGT_WIDTH-1:0] wval(input int s, input int i, input int j);
    if (s == 0 && i == 0 && j == 0) return {1'b1, {(WGT_WIDTH-1){1'b0}}};
    return WGT_WIDTH'((s * 37 + i * 11 + j * 5 + 3) * 29);
  endfunction

  // Activation of row i in input cycle c; cycle 1 has the most negative activation in row 0.
  function automatic logic signed [DATA_WIDTH-1:0] xval(input int c, input int i);
    if (c == 1 && i == 0) return {1'b1, {(DATA_WIDTH-1){1'b0}}};
    return DATA_WIDTH'((c * 13 + i * 7 + 1) * 23);
  endfunction

  // Top-edge partial sum of column j in input cycle c; cycle 2 column 0 is the largest (it wraps).
  function automatic logic signed [ACC_WIDTH-1:0] pval(input int c, input int j);
    if (c == 2 && j == 0) return {1'b0, {(ACC_WIDTH-1){1'b1}}};
    return ACC_WIDTH'(c * 1000 - j * 333 - 500);
  endfunction

  // Which weights a vector of input cycle c meets: none before the first load, set 0, then set 1.
  function automatic int wset(input int c);
    if (c == 0) return -1;
    return (c >= SWITCH) ? 1 : 0;
  endfunction

  // Column j's expected result for the vector of input cycle c (signed, wrapped to ACC_WIDTH).
  function automatic logic [ACC_WIDTH-1:0] expected(input int c, input int j);
    logic signed [ACC_WIDTH-1:0] acc;
    logic signed [DATA_WIDTH+WGT_WIDTH-1:0] prod;
    acc = pval(c, j);
    if (wset(c) >= 0) begin
      for (int i = 0; i < ARRAY_N; i++) begin
        prod = xval(c, i) * wval(wset(c), i, j);
        acc = acc + ACC_WIDTH'(prod);
      end
    end
    return acc;
  endfunction

  // ---- checker: compare each out_valid vector, in order, with the next expected one ---------------
  int exp_cycle [0:NCYC-1];  // input cycle of the k-th valid vector
  int n_exp = 0, n_out = 0, n_err = 0;

  always @(negedge clk) begin
    if (rst_n === 1'b1 && out_valid === 1'b1) begin
      if (n_out >= n_exp) begin
        n_err++;
        $display("FAIL: unexpected output vector %0d (only %0d were sent)", n_out, n_exp);
      end else begin
        for (int j = 0; j < ARRAY_M; j++) begin
          if (out_psum[j*ACC_WIDTH +: ACC_WIDTH] !== expected(exp_cycle[n_out], j)) begin
            n_err++;
            if (n_err <= 10)
              $display("FAIL: vector %0d (input cycle %0d) column %0d: got %0d, expected %0d", n_out,
                       exp_cycle[n_out], j, $signed(out_psum[j*ACC_WIDTH +: ACC_WIDTH]),
                       $signed(expected(exp_cycle[n_out], j)));
          end
        end
      end
      n_out++;
    end
  end

  // ---- stimulus ------------------------------------------------------------------------------------
  initial begin
    rst_n = 1'b0; in_valid = 1'b0; in_data = '0; in_psum = '0; wgt_load = 1'b0; wgt_addr = '0;
    wbuf_we = 1'b0; wbuf_row = '0; wbuf_addr = '0; wbuf_be = '1; wbuf_data = '0;
    repeat (4) @(negedge clk);
    rst_n = 1'b1;

    // Write both weight sets: set s goes to bank address s, one array row per cycle.
    for (int s = 0; s < 2; s++) begin
      for (int i = 0; i < ARRAY_N; i++) begin
        @(negedge clk);
        wbuf_we = 1'b1; wbuf_row = ROW_WIDTH'(i); wbuf_addr = WBUF_ADDR_WIDTH'(s);
        for (int j = 0; j < ARRAY_M; j++) wbuf_data[j*WGT_WIDTH +: WGT_WIDTH] = wval(s, i, j);
      end
    end
    @(negedge clk);
    wbuf_we = 1'b0;

    // Stream: cycle 0 before any load (weights are zero after reset), load set 0 in cycle 1, a bubble,
    // then load set 1 in cycle SWITCH together with a vector (back-to-back switch).
    for (int c = 0; c < NCYC; c++) begin
      @(negedge clk);
      wgt_load = (c == 1 || c == SWITCH);
      wgt_addr = WBUF_ADDR_WIDTH'(c >= SWITCH ? 1 : 0);
      in_valid = (c != BUBBLE);
      for (int i = 0; i < ARRAY_N; i++) in_data[i*DATA_WIDTH +: DATA_WIDTH] = xval(c, i);
      for (int j = 0; j < ARRAY_M; j++) in_psum[j*ACC_WIDTH +: ACC_WIDTH] = pval(c, j);
      if (c != BUBBLE) begin
        exp_cycle[n_exp] = c;
        n_exp++;
      end
    end
    @(negedge clk);
    in_valid = 1'b0; wgt_load = 1'b0;

    // Wait for every vector, then a while longer to catch extra ones.
    for (int t = 0; t < TIMEOUT && n_out < n_exp; t++) @(negedge clk);
    repeat (2 * (ARRAY_N + ARRAY_M) + 4) @(negedge clk);

    if (n_err == 0 && n_out == n_exp) begin
      $display("PASS: %0d vectors x %0d columns checked on a %0dx%0d array (%0d-bit data, %0d-bit weights, %0d-bit sums)",
               n_out, ARRAY_M, ARRAY_N, ARRAY_M, DATA_WIDTH, WGT_WIDTH, ACC_WIDTH);
      $finish;
    end else begin
      $fatal(1, "FAIL: %0d mismatches, %0d of %0d vectors came out", n_err, n_out, n_exp);
    end
  end

endmodule

`default_nettype wire
