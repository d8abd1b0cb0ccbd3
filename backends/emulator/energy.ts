/**
 * Named energy parameter sets (tsc.md §7.3). The figures are Horowitz, ISSCC 2014, 45 nm, as quoted in
 * our spec and not re-checked against the paper: treat them as a model, not a measurement.
 */
export interface EnergyParams {
  readonly name: string;
  readonly source: string;
  /** Per synaptic addition (accumulate a weight into a current). */
  readonly add_pj: number;
  /** Per weight read from on-chip SRAM. */
  readonly mem_read_pj: number;
  /** Per neuron-state update (one addition to V, or a discharge step). */
  readonly neuron_update_pj: number;
  /** Per multiply-accumulate (rate coding's constant-current input layer). */
  readonly mac_pj: number;
}

export const ENERGY_SETS: Readonly<Record<string, EnergyParams>> = {
  "horowitz45-fp32": {
    name: "horowitz45-fp32",
    source: "Horowitz ISSCC 2014 45 nm [unverified, via tsc.md §7.3]: fp32 add 0.9 pJ, fp32 MAC 4.6 pJ, 32-bit read from an 8 kB SRAM ≈ half of 10 pJ per 64 bits",
    add_pj: 0.9,
    mem_read_pj: 5,
    neuron_update_pj: 0.9,
    mac_pj: 4.6,
  },
  "horowitz45-int32": {
    name: "horowitz45-int32",
    source: "Horowitz ISSCC 2014 45 nm [unverified, via tsc.md §7.3]: int32 add 0.1 pJ, 32-bit read from an 8 kB SRAM ≈ 5 pJ, int32 MAC ≈ 3.2 pJ",
    add_pj: 0.1,
    mem_read_pj: 5,
    neuron_update_pj: 0.1,
    mac_pj: 3.2,
  },
};

export interface OpCounts {
  synaptic_additions: number;
  memory_reads: number;
  neuron_updates: number;
  input_macs: number;
}

export function energyPj(c: OpCounts, p: EnergyParams): { total: number; synaptic: number; memory: number; neuron: number; input: number } {
  const synaptic = c.synaptic_additions * p.add_pj;
  const memory = c.memory_reads * p.mem_read_pj;
  const neuron = c.neuron_updates * p.neuron_update_pj;
  const input = c.input_macs * p.mac_pj;
  return { total: synaptic + memory + neuron + input, synaptic, memory, neuron, input };
}
