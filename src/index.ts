// Latchkey as a library: the resource-server helper for Node web APIs.
export * from './resource-server/index.js';
