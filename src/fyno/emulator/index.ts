export { startEmulator, type EmulatorOptions, type RunningEmulator, type Exchange } from './server.js';
export { MemoryFyno, type MemoryFynoOptions } from './memory-fyno.js';
export { EmulatorEngine, type JournalEntry, type RequestCounts } from './engine.js';
export { Faults, FAULT_KINDS, type FaultKind, type FaultConfig, type RateLimit } from './faults.js';
export { FynoStore } from './store.js';
export { type SeedInput } from './seed.js';
export { StateFile } from './persistence.js';
